/**
 * Test fixture: a Redis on a free port and N store processes in cluster mode on loopback ports,
 * started as a user would (`store.ts --cluster ... --node-address 127.0.0.1:PORT`). `stop()`
 * stops every process (call it in `finally`).
 * @module
 */
import assert from "node:assert/strict";
import type { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { RedisDirectory } from "../src/cluster/redis_directory.ts";
import { freePort, RedisFixture } from "./_redis_fixture.ts";
import { eventually, spawnStore, type StoreProcess } from "./_store_fixture.ts";

export interface ClusterNode extends StoreProcess {
  nodeId: string;
  nodeAddress: string;
}

export interface TestCluster {
  redis: RedisFixture;
  nodes: ClusterNode[];
  /** Starts one more node (same flags unless given). */
  addNode(options?: { memory?: string; extraArgs?: string[] }): Promise<ClusterNode>;
  stop(): Promise<void>;
}

export async function startCluster(
  count: number,
  options: { memory?: string; extraArgs?: string[] } = {},
): Promise<TestCluster> {
  const redis = await RedisFixture.start();
  const nodes: ClusterNode[] = [];
  const addNode = async (overrides: { memory?: string; extraArgs?: string[] } = {}) => {
    const nodeId = `node${nodes.length + 1}`;
    const nodeAddress = `127.0.0.1:${freePort()}`;
    const process = await spawnStore([
      "--memory",
      overrides.memory ?? options.memory ?? "256MiB",
      "--cluster",
      redis.url,
      "--node-address",
      nodeAddress,
      "--node-id",
      nodeId,
      ...(overrides.extraArgs ?? options.extraArgs ?? []),
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

/** Random bytes (compared by digest): a transfer that skipped or misplaced a chunk cannot match. */
export function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB per call.
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(offset + 65536, size)));
  }
  return bytes;
}

/** FNV-1a over the bytes (tests/fixtures/pyarrow_role.py computes the same). */
export function checksum(bytes: Uint8Array): number {
  let value = 0x811c9dc5;
  for (const byte of bytes) value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  return value;
}

/** SHA-256 in hex: a native digest for large objects (the byte-wise checksum is slow in JS). */
export async function digest(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return [...hash].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The nodes the directory lists as holding `id`, sorted. */
export async function holdersOf(redisUrl: string, id: ObjectId): Promise<string[]> {
  const directory = await RedisDirectory.connect(redisUrl);
  try {
    return (await directory.locate([id.toHex()])).get(id.toHex())!.map((location) => location.nodeId).sort();
  } finally {
    await directory.abandon();
  }
}

/**
 * After a pull that failed: the object is never sealed at `reader`'s node, and each failed attempt
 * is aborted. A pull retries with back-off (each attempt creates the object, then aborts it), so an
 * attempt may be mid-way at any moment; the listing must come back empty between attempts.
 */
export async function assertNothingHalfWritten(reader: PlasmaClient, id: ObjectId): Promise<void> {
  await eventually(async () => {
    const entries = (await reader.list()).filter((entry) => entry.id.equals(id));
    assert.deepEqual(entries.filter((entry) => entry.state === "sealed"), [], "never sealed");
    return entries.length === 0;
  }, 10_000);
}
