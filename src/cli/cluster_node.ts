/**
 * Cluster mode at start-up: checks the cluster flags, reads the secret, joins the directory and
 * starts the object manager beside the runner, fed by the store's events. Without `--cluster`
 * nothing here runs and the store behaves exactly as a single node.
 * @module
 */
import { RedisDirectory } from "../cluster/redis_directory.ts";
import { ObjectManager } from "../object_manager/object_manager.ts";
import { parseAddress } from "../object_manager/peer_connection.ts";
import { readSecretFile } from "../object_manager/peer_auth.ts";
import type { ObjectStoreRunner } from "../runner/object_store_runner.ts";
import { StartupError } from "./startup_checks.ts";
import type { StoreConfig } from "./store_flags.ts";

/**
 * Starts the node's object manager when `--cluster` is given.
 * @returns the manager, or null for a single node
 * @throws {StartupError} on bad cluster flags, an unreadable secret, or an unreachable directory
 */
export async function startClusterNode(
  config: StoreConfig,
  runner: ObjectStoreRunner,
  log: (message: string) => void,
): Promise<ObjectManager | null> {
  if (config.clusterUrl === "") {
    if (config.nodeAddress || config.nodeId || config.clusterSecretFile) {
      throw new StartupError("--node-address, --node-id and --cluster-secret-file need --cluster redis://HOST:PORT");
    }
    return null;
  }
  if (!/^redis:\/\/[^\s/]+:\d+\/?$/.test(config.clusterUrl)) {
    throw new StartupError(`--cluster takes redis://HOST:PORT, got "${config.clusterUrl}"`);
  }
  if (config.nodeAddress === "") {
    throw new StartupError("--cluster needs --node-address HOST:PORT (where peers reach this node)");
  }
  let hostname: string;
  try {
    hostname = parseAddress(config.nodeAddress).hostname;
  } catch (error) {
    throw new StartupError(`--node-address: ${(error as Error).message}`);
  }
  // The address is also what the directory advertises: peers pull from it and redirect pullers to
  // it, so a wildcard (which only means "every interface" to a listener) would send them nowhere.
  if (hostname === "0.0.0.0") {
    throw new StartupError(
      `--node-address ${config.nodeAddress} is a wildcard: peers connect (and redirect pulls) to this address, ` +
        "so give this node's own IP address, e.g. 10.0.0.5:7000",
    );
  }
  let secret: Uint8Array | null = null;
  if (config.clusterSecretFile !== "") {
    try {
      secret = await readSecretFile(config.clusterSecretFile);
    } catch (error) {
      throw new StartupError(`--cluster-secret-file: ${(error as Error).message}`);
    }
  } else {
    log(`warning: no --cluster-secret-file: the node port ${config.nodeAddress} is open to anyone who can reach it`);
  }
  let directory: RedisDirectory;
  try {
    directory = await RedisDirectory.connect(config.clusterUrl, { log });
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
  try {
    const manager = await ObjectManager.start({
      socketPath: runner.socketPath,
      nodeId: config.nodeId || config.nodeAddress,
      nodeAddress: config.nodeAddress,
      secret,
      directory,
      log,
    });
    runner.onEvent((event) => manager.handleStoreEvent(event));
    reportTransfersPeriodically(manager, runner);
    return manager;
  } catch (error) {
    await directory.leave();
    throw new StartupError(`cannot start the object manager: ${(error as Error).message}`);
  }
}

/** How often the object manager's counters reach the store's `stats` (when they changed). */
const TRANSFER_STATS_INTERVAL_MS = 100;

function reportTransfersPeriodically(manager: ObjectManager, runner: ObjectStoreRunner): void {
  let last = "";
  const timer = setInterval(() => {
    const now = JSON.stringify(manager.counters);
    if (now === last) return;
    last = now;
    runner.reportTransfers({ ...manager.counters });
  }, TRANSFER_STATS_INTERVAL_MS);
  Deno.unrefTimer(timer);
  manager.onStop(() => clearInterval(timer));
}
