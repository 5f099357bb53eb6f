/**
 * The store's command-line program: flags, start-up checks, the runner, one start-up line, and a
 * clean stop on SIGINT/SIGTERM (stop accepting, close clients, remove the socket, exit 0).
 * @module
 */
import { ObjectStoreRunner } from "../runner/object_store_runner.ts";
import { FULL_DELAY_MS_DEFAULT, OOM_GRACE_MS_DEFAULT } from "../store/constants.ts";
import { formatSize } from "./sizes.ts";
import { checkCapacity, checkSocketPath, StartupError } from "./startup_checks.ts";
import { FlagError, parseStoreFlags } from "./store_flags.ts";

/** Exit codes: 2 for bad flags, 1 when the store cannot start or fails. */
export const EXIT_BAD_FLAGS = 2;
/** The store could not start, or failed. */
export const EXIT_FAILED = 1;

/** Runs the store until a signal stops it; returns the process exit code. */
export async function storeMain(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseStoreFlags(args);
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    console.error(`plasma store: ${error.message} (see --help)`);
    return EXIT_BAD_FLAGS;
  }
  if (parsed.kind === "help") {
    console.log(parsed.text);
    return 0;
  }
  const config = parsed.config;
  let runner: ObjectStoreRunner;
  try {
    const capacity = checkCapacity(config);
    for (const warning of capacity.warnings) console.error(`plasma store: warning: ${warning}`);
    if (await checkSocketPath(config.socketPath) === "stale") {
      console.error(`plasma store: replaced a stale socket at ${config.socketPath}`);
    }
    runner = await ObjectStoreRunner.start({
      socketPath: config.socketPath,
      capacityBytes: capacity.memoryBytes,
      directory: config.plasmaDirectory,
      populate: config.populate,
      hugepages: config.hugepages,
      fullDelayMs: FULL_DELAY_MS_DEFAULT,
      oomGraceMs: OOM_GRACE_MS_DEFAULT,
    });
  } catch (error) {
    const message = error instanceof StartupError ? error.message : `cannot start: ${(error as Error).message}`;
    console.error(`plasma store: ${message}`);
    return EXIT_FAILED;
  }
  console.log(
    `plasma store: listening on ${config.socketPath}, capacity ${
      formatSize(runner.capacityBytes)
    }, directory ${config.plasmaDirectory}`,
  );
  return await waitForStop(runner);
}

function waitForStop(runner: ObjectStoreRunner): Promise<number> {
  return new Promise((resolve) => {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const stop = async (code: number) => {
      for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
      await runner.stop();
      resolve(code);
    };
    const onSignal = () => void stop(0);
    for (const signal of signals) Deno.addSignalListener(signal, onSignal);
    runner.onFailure((message) => {
      console.error(`plasma store: ${message}`);
      void stop(EXIT_FAILED);
    });
  });
}
