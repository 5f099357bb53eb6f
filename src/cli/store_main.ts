/**
 * The store's command-line program: flags, start-up checks, the runner, one start-up line, and a
 * clean stop on SIGINT/SIGTERM (stop accepting, close clients, remove the socket, exit 0).
 * @module
 */
import { parseMetricsAddress } from "../observe/metrics_address.ts";
import type { MetricsServer } from "../observe/metrics_server.ts";
import { removeDeadSpillFiles } from "../store/spill_io/spill_files.ts";
import type { ObjectManager } from "../object_manager/object_manager.ts";
import { ObjectStoreRunner } from "../runner/object_store_runner.ts";
import { formatSize } from "./sizes.ts";
import { checkCapacity, checkDiskDirectories, checkSocketPath, StartupError } from "./startup_checks.ts";
import { FlagError, parseStoreFlags, type StoreConfig } from "./store_flags.ts";

/** Exit codes: 2 for bad flags, 1 when the store cannot start or fails. */
export const EXIT_BAD_FLAGS = 2;
/** The store could not start, or failed. */
export const EXIT_FAILED = 1;

/**
 * Parses a command line for a CLI entry point: the configuration, or the exit code when there is
 * nothing to run (help printed: 0; bad flags: one line on stderr, then `badFlagsCode`).
 */
export function parseOrExitCode<Config extends { kind: "config" }>(
  parse: () => Config | { kind: "help"; text: string },
  complain: (message: string) => string,
  badFlagsCode: number,
): Config | number {
  let parsed;
  try {
    parsed = parse();
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    console.error(complain(error.message));
    return badFlagsCode;
  }
  if (parsed.kind !== "help") return parsed as Config;
  console.log(parsed.text);
  return 0;
}

/** Runs the store until a signal stops it; returns the process exit code. */
export async function storeMain(args: string[]): Promise<number> {
  const parsed = parseOrExitCode(
    () => parseStoreFlags(args),
    (message) => `plasma store: ${message} (see --help)`,
    EXIT_BAD_FLAGS,
  );
  return typeof parsed === "number" ? parsed : await runStore(parsed.config);
}

/**
 * Runs the store with a complete configuration until a signal stops it; returns the exit code.
 * @param worker the store's Worker if already booting ({@linkcode bootStoreWorker}); ended on failure
 */
export async function runStore(config: StoreConfig, worker?: Worker): Promise<number> {
  // Listen for signals before anything starts, so a signal during start-up is never fatal.
  const signalled = listenForStopSignals();
  let runner: ObjectStoreRunner;
  try {
    const capacity = checkCapacity(config);
    for (const warning of capacity.warnings) console.error(`plasma store: warning: ${warning}`);
    await checkDiskDirectories(config);
    if (await checkSocketPath(config.socketPath) === "stale") {
      console.error(`plasma store: replaced a stale socket at ${config.socketPath}`);
    }
    removeStaleSpillFiles(config.spillDirectory);
    runner = await ObjectStoreRunner.start({
      socketPath: config.socketPath,
      capacityBytes: capacity.memoryBytes,
      directory: config.plasmaDirectory,
      populate: config.populate,
      hugepages: config.hugepages,
      fullDelayMs: config.fullDelayMs,
      oomGraceMs: config.oomGraceMs,
      clientMemoryBytes: config.clientMemoryBytes,
      fallbackDirectory: config.noFallback ? "" : config.fallbackDirectory || config.spillDirectory || "/tmp",
      spillDirectory: config.spillDirectory,
      socketMode: config.socketMode,
      access: { allowUids: config.allowUids, allowGids: config.allowGids },
      clusterMode: config.clusterUrl !== "",
    }, worker);
  } catch (error) {
    worker?.terminate();
    signalled.dispose();
    const message = error instanceof StartupError ? error.message : `cannot start: ${(error as Error).message}`;
    console.error(`plasma store: ${message}`);
    return EXIT_FAILED;
  }
  let metrics: MetricsServer | null;
  try {
    metrics = await startMetrics(config);
  } catch (error) {
    signalled.dispose();
    await runner.stop();
    console.error(`plasma store: cannot serve metrics on ${config.metricsAddress}: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  let manager: ObjectManager | null;
  try {
    manager = await startCluster(config, runner, (message) => console.error(`plasma store: ${message}`));
  } catch (error) {
    signalled.dispose();
    await metrics?.close();
    await runner.stop();
    console.error(`plasma store: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  if (manager !== null) {
    console.log(
      `plasma store: node ${manager.nodeId} in cluster ${config.clusterUrl}, peers reach it at ${manager.address}`,
    );
  }
  console.log(
    `plasma store: listening on ${config.socketPath}, capacity ${
      formatSize(runner.capacityBytes)
    }, directory ${config.plasmaDirectory}`,
  );
  const failed = new Promise<number>((resolve) =>
    runner.onFailure((message) => {
      console.error(`plasma store: ${message}`);
      resolve(EXIT_FAILED);
    })
  );
  const code = await Promise.race([signalled.promise.then(() => 0), failed]);
  signalled.dispose();
  await manager?.stop();
  await metrics?.close();
  await runner.stop();
  return code;
}

/**
 * Starts cluster mode when a cluster flag is given. Its code (the object manager, the client, the
 * Redis client: ~60 modules and an npm package) loads only then: a single node starts without it.
 */
async function startCluster(
  config: StoreConfig,
  runner: ObjectStoreRunner,
  log: (message: string) => void,
): Promise<ObjectManager | null> {
  if (!config.clusterUrl && !config.nodeAddress && !config.nodeId && !config.clusterSecretFile) return null;
  const { startClusterNode } = await import("./cluster_node.ts");
  return await startClusterNode(config, runner, log);
}

/** Spill files of stores that were killed hold nothing anyone can read back: remove them. */
function removeStaleSpillFiles(spillDirectory: string): void {
  if (spillDirectory === "") return;
  const removed = removeDeadSpillFiles(spillDirectory);
  if (removed.length > 0) {
    console.error(`plasma store: removed ${removed.length} spill files of stopped stores in ${spillDirectory}`);
  }
}

/**
 * Starts the metrics endpoint when `--metrics-address` asks for one (before the store says it is
 * listening, so whoever waits for that line can scrape at once); null when not asked for.
 */
async function startMetrics(config: StoreConfig): Promise<MetricsServer | null> {
  if (config.metricsAddress === "") return null;
  // Loaded only when asked for: it brings the whole client, ~60 modules the store's start (and
  // so every client waiting for its socket) would otherwise pay for.
  const { MetricsServer } = await import("../observe/metrics_server.ts");
  const metrics = await MetricsServer.start(parseMetricsAddress(config.metricsAddress), config.socketPath);
  console.log(`plasma store: metrics on ${metrics.origin}/metrics, dashboard on ${metrics.origin}/`);
  return metrics;
}

/** Resolves on the first SIGINT or SIGTERM; `dispose` removes the listeners. */
function listenForStopSignals(): { promise: Promise<void>; dispose(): void } {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  let onSignal!: () => void;
  const promise = new Promise<void>((resolve) => (onSignal = resolve));
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  return {
    promise,
    dispose: () => signals.forEach((signal) => Deno.removeSignalListener(signal, onSignal)),
  };
}
