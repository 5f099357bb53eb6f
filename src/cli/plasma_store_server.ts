/**
 * Entry point compatible with Arrow's `plasma-store-server`, so pyarrow can start this store in
 * place of its own: `deno run -A src/cli/plasma_store_server.ts -m BYTES -s SOCKET [-d DIR] [-h]
 * [-e hashtable://NAME]`.
 * Bad flags exit 1 with one line (as Arrow's); SIGTERM stops it cleanly with exit 0.
 * @module
 */
import { parseArrowFlags } from "./arrow_flags.ts";
import { runStore } from "./store_main.ts";
import { FlagError } from "./store_flags.ts";

/** Runs the store from Arrow's flags; returns the exit code. */
export async function plasmaStoreServerMain(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArrowFlags(args);
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    console.error(`plasma-store-server: ${error.message}`);
    return 1;
  }
  if (parsed.kind === "help") {
    console.log(parsed.text);
    return 0;
  }
  if (parsed.externalStore === "") return await runStore(parsed.config);
  // hashtable:// (Arrow's in-memory external store) = spilling into a directory of our own.
  const spillDirectory = await Deno.makeTempDir({ prefix: "plasma-external-store-" });
  try {
    return await runStore({ ...parsed.config, spillDirectory });
  } finally {
    await Deno.remove(spillDirectory, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await plasmaStoreServerMain(Deno.args));
