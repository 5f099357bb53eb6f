/**
 * Entry point compatible with Arrow's `plasma-store-server`, so pyarrow can start this store in
 * place of its own: `deno run -A src/cli/plasma_store_server.ts -m BYTES -s SOCKET [-d DIR] [-h]
 * [-e hashtable://NAME]`.
 * Bad flags exit 1 with one line (as Arrow's); SIGTERM stops it cleanly with exit 0.
 * @module
 */
import { parseArrowFlags } from "./arrow_flags.ts";
import { bootStoreWorker } from "../runner/object_store_runner.ts";
import { parseOrExitCode, runStore } from "./store_main.ts";

/** Runs the store from Arrow's flags; returns the exit code. */
export async function plasmaStoreServerMain(args: string[]): Promise<number> {
  // First thing: the store's Worker boots (~50-100 ms) while this thread parses flags, checks
  // directories and listens. Arrow's tests start a store per test and time it.
  const worker = bootStoreWorker();
  const parsed = parseOrExitCode(() => parseArrowFlags(args), (message) => `plasma-store-server: ${message}`, 1);
  if (typeof parsed === "number") {
    worker.terminate();
    return parsed;
  }
  if (parsed.externalStore === "") return await runStore(parsed.config, worker);
  // hashtable:// (Arrow's in-memory external store) = spilling into a directory of our own.
  const spillDirectory = await Deno.makeTempDir({ prefix: "plasma-external-store-" });
  try {
    return await runStore({ ...parsed.config, spillDirectory }, worker);
  } finally {
    await Deno.remove(spillDirectory, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await plasmaStoreServerMain(Deno.args));
