import assert from "node:assert/strict";
import { ObjectId, PlasmaClient } from "../client/mod.ts";
import { RedisDirectory } from "../cluster/redis_directory.ts";
import { ObjectStoreRunner } from "../runner/object_store_runner.ts";
import { RedisFixture } from "../../tests/_redis_fixture.ts";
import { ObjectManager } from "./object_manager.ts";

const MIB = 1024 * 1024;

interface Node {
  runner: ObjectStoreRunner;
  manager: ObjectManager;
  directory: string;
}

async function startNode(redisUrl: string, nodeId: string, capacityBytes = 64 * MIB): Promise<Node> {
  const directory = await Deno.makeTempDir();
  const runner = await ObjectStoreRunner.start({
    socketPath: `${directory}/store.sock`,
    capacityBytes,
    directory: "/dev/shm",
    populate: false,
    hugepages: false,
    fullDelayMs: 10,
    oomGraceMs: 200,
  });
  const manager = await ObjectManager.start({
    socketPath: runner.socketPath,
    nodeId,
    nodeAddress: "127.0.0.1:0",
    secret: null,
    directory: await RedisDirectory.connect(redisUrl),
    log: () => {},
  });
  runner.onEvent((event) => manager.handleStoreEvent(event));
  return { runner, manager, directory };
}

async function stopNode(node: Node): Promise<void> {
  await node.manager.stop();
  await node.runner.stop();
  await Deno.remove(node.directory, { recursive: true });
}

Deno.test("a get on one node pulls an object put on another, bytes and metadata identical", async () => {
  const redis = await RedisFixture.start();
  const nodes: Node[] = [];
  try {
    nodes.push(await startNode(redis.url, "one"), await startNode(redis.url, "two"));
    await using writer = await PlasmaClient.connect(nodes[0].runner.socketPath);
    await using reader = await PlasmaClient.connect(nodes[1].runner.socketPath);
    const big = new Uint8Array(10 * MIB + 3); // more than two chunks, not a multiple of one
    for (let offset = 0; offset < big.length; offset += 65536) {
      big.set(crypto.getRandomValues(new Uint8Array(Math.min(65536, big.length - offset))), offset);
    }
    const id = await writer.put(big, { metadata: new Uint8Array([7, 8, 9]) });
    const [object] = await reader.get([id], { timeoutMs: 10_000 });
    assert.ok(object, "the object arrived within the get's timeout");
    assert.deepEqual(object.metadata, new Uint8Array([7, 8, 9]));
    assert.ok(object.data.length === big.length && object.data.every((byte, index) => byte === big[index]));
    await reader.release(id);
    const [listing] = (await reader.list()).filter((entry) => entry.id.equals(id));
    assert.equal(listing.source, "ReceivedFromRemoteRaylet", "the pulled copy is a secondary copy");
    assert.equal(nodes[1].manager.counters.numObjectsPulled, 1);
    assert.equal(nodes[1].manager.counters.numBytesPulled, big.length + 3);
    assert.equal(nodes[0].manager.counters.numBytesPushed, big.length + 3);
    assert.equal(await reader.get([ObjectId.random()], { timeoutMs: 50 }).then(([o]) => o), null);
  } finally {
    for (const node of nodes) await stopNode(node);
    await redis.stop();
  }
});
