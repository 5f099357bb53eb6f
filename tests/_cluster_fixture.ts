/**
 * Test fixture: a Redis on a free port and N store processes in cluster mode on loopback ports,
 * started as a user would (`store.ts --cluster ... --node-address 127.0.0.1:PORT`). `stop()`
 * stops every process (call it in `finally`).
 * @module
 */
import { freePort, RedisFixture } from "./_redis_fixture.ts";
import { spawnStore, type StoreProcess } from "./_store_fixture.ts";

export interface ClusterNode extends StoreProcess {
  nodeId: string;
  nodeAddress: string;
}

export interface TestCluster {
  redis: RedisFixture;
  nodes: ClusterNode[];
  /** Starts one more node (same flags). */
  addNode(extraArgs?: string[]): Promise<ClusterNode>;
  stop(): Promise<void>;
}

export async function startCluster(
  count: number,
  options: { memory?: string; extraArgs?: string[] } = {},
): Promise<TestCluster> {
  const redis = await RedisFixture.start();
  const nodes: ClusterNode[] = [];
  const addNode = async (extraArgs = options.extraArgs ?? []) => {
    const nodeId = `node${nodes.length + 1}`;
    const nodeAddress = `127.0.0.1:${freePort()}`;
    const process = await spawnStore([
      "--memory",
      options.memory ?? "256MiB",
      "--cluster",
      redis.url,
      "--node-address",
      nodeAddress,
      "--node-id",
      nodeId,
      ...extraArgs,
    ]);
    const node = { ...process, nodeId, nodeAddress };
    nodes.push(node);
    return node;
  };
  const stop = async () => {
    for (const node of nodes) await node.stop("SIGKILL").catch(() => {});
    await redis.stop();
  };
  try {
    for (let index = 0; index < count; index++) await addNode();
  } catch (error) {
    await stop();
    throw error;
  }
  return { redis, nodes, addNode, stop };
}

/** FNV-1a over the bytes (tests/fixtures/pyarrow_role.py computes the same). */
export function checksum(bytes: Uint8Array): number {
  let value = 0x811c9dc5;
  for (const byte of bytes) value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  return value;
}
