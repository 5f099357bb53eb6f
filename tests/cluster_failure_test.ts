/**
 * Cluster failure tests: a node killed mid-transfer, pulls into a node under memory pressure,
 * Redis restarted under running nodes, and peers that do not know the secret or send garbage.
 * Every process is stopped in `finally`.
 */
import assert from "node:assert/strict";
import { PlasmaClient } from "../src/client/mod.ts";
import { DIRECTORY_REPLY_DEADLINE_MS, NODE_TTL_MS } from "../src/cluster/constants.ts";
import { PeerConnection } from "../src/object_manager/peer_connection.ts";
import { assertNothingHalfWritten, digest, holdersOf, randomBytes, startCluster } from "./_cluster_fixture.ts";
import { freePort, RedisFixture } from "./_redis_fixture.ts";
import { SilenceableProxy } from "./_silent_proxy.ts";
import { eventually, spawnStore, type StoreProcess } from "./_store_fixture.ts";

const MIB = 1024 * 1024;

Deno.test("a holder SIGKILLed mid-transfer: the pull completes from another holder, and the dead node's locations go", async () => {
  const cluster = await startCluster(3);
  try {
    const [one, two, three] = cluster.nodes;
    await using writer = await PlasmaClient.connect(one.socketPath);
    const bytes = randomBytes(192 * MIB);
    const id = await writer.put(bytes);
    await using second = await PlasmaClient.connect(two.socketPath);
    assert.ok((await second.get([id], { timeoutMs: 30_000 }))[0], "node 2 holds a copy too");
    await second.release(id);
    await eventually(async () => (await holdersOf(cluster.redis.url, id)).length === 2, 5_000);
    await using third = await PlasmaClient.connect(three.socketPath);
    const pulling = third.get([id], { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await one.stop("SIGKILL");
    const [object] = await pulling;
    assert.ok(object, "the pull completed from the surviving holder");
    assert.equal(await digest(object.data), await digest(bytes));
    await third.release(id);
    await eventually(async () => !(await holdersOf(cluster.redis.url, id)).includes("node1"), NODE_TTL_MS * 4);
  } finally {
    await cluster.stop();
  }
});

Deno.test("the only holder SIGKILLed mid-transfer: the get answers null, nothing half-written is readable", async () => {
  const cluster = await startCluster(2);
  try {
    const [one, two] = cluster.nodes;
    await using writer = await PlasmaClient.connect(one.socketPath);
    const id = await writer.put(randomBytes(200 * MIB));
    await eventually(async () => (await holdersOf(cluster.redis.url, id)).length === 1, 5_000);
    await using reader = await PlasmaClient.connect(two.socketPath);
    const pulling = reader.get([id], { timeoutMs: 3_000 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await one.stop("SIGKILL");
    assert.deepEqual(await pulling, [null]);
    assert.equal(await reader.contains(id), false);
    // Until the dead node's entries expire, the puller retries it (creating, then aborting).
    await assertNothingHalfWritten(reader, id);
    await eventually(async () => (await holdersOf(cluster.redis.url, id)).length === 0, NODE_TTL_MS * 4);
  } finally {
    await cluster.stop();
  }
});

Deno.test("pulls into a node smaller than the objects in total: received copies are evicted, nothing is lost", async () => {
  const cluster = await startCluster(1, { memory: "256MiB" });
  try {
    const small = await cluster.addNode({ memory: "64MiB" });
    await using writer = await PlasmaClient.connect(cluster.nodes[0].socketPath);
    const objects = [];
    for (let index = 0; index < 8; index++) {
      const bytes = randomBytes(20 * MIB);
      objects.push({ id: await writer.put(bytes), sum: await digest(bytes) });
    }
    await using reader = await PlasmaClient.connect(small.socketPath);
    for (const round of [0, 1]) {
      for (const { id, sum } of objects) {
        const [object] = await reader.get([id], { timeoutMs: 20_000 });
        assert.ok(object, `object ${id} arrived (round ${round})`);
        assert.equal(await digest(object.data), sum);
        await reader.release(id);
      }
    }
    const stats = await reader.stats();
    assert.ok(stats.allocatedBytes <= 64 * MIB);
    for (const { id } of objects) assert.ok(await writer.contains(id), "the primary copies are all still on node 1");
  } finally {
    await cluster.stop();
  }
});

Deno.test("Redis restarted under running nodes: they republish, and new objects still move", async () => {
  const cluster = await startCluster(2);
  try {
    const [one, two] = cluster.nodes;
    await using writer = await PlasmaClient.connect(one.socketPath);
    const before = await writer.put(new Uint8Array([1, 1, 1]));
    await eventually(async () => (await holdersOf(cluster.redis.url, before)).length === 1, 5_000);
    await cluster.redis.kill();
    await cluster.redis.restart();
    await eventually(async () => {
      try {
        return (await holdersOf(cluster.redis.url, before)).join() === "node1";
      } catch {
        return false;
      }
    }, 10_000);
    const after = await writer.put(new Uint8Array([2, 2]));
    await using reader = await PlasmaClient.connect(two.socketPath);
    const objects = await reader.get([before, after], { timeoutMs: 15_000 });
    const got = objects.map((object) => object && [...object.data]);
    // On failure, the nodes' own account of the outage goes with the assertion.
    const logs = got.includes(null) ? (await Promise.all(cluster.nodes.map((node) => node.stop()))) : [];
    assert.deepEqual(got, [[1, 1, 1], [2, 2]], logs.map(({ output }) => output).join("\n---\n"));
  } finally {
    await cluster.stop();
  }
});

Deno.test("directory connections that go silent when Redis restarts are replaced: the node republishes, and stops on SIGTERM", async () => {
  const redis = await RedisFixture.start();
  const proxy = SilenceableProxy.start(redis.port);
  let node: StoreProcess | undefined;
  try {
    node = await spawnStore([
      ...["--memory", "64MiB", "--cluster", `redis://127.0.0.1:${proxy.port}`],
      ...["--node-address", `127.0.0.1:${freePort()}`, "--node-id", "node1"],
    ]);
    await using writer = await PlasmaClient.connect(node.socketPath);
    const id = await writer.put(new Uint8Array([7, 7]));
    await eventually(async () => (await holdersOf(redis.url, id)).join() === "node1", 5_000);
    // The node's connections stay open but nothing comes back, and Redis comes back empty.
    proxy.silenceCurrent();
    await redis.kill();
    await redis.restart();
    await eventually(async () => {
      try {
        return (await holdersOf(redis.url, id)).join() === "node1";
      } catch {
        return false;
      }
    }, 4 * NODE_TTL_MS + 4 * DIRECTORY_REPLY_DEADLINE_MS);
    const stopped = await Promise.race([
      node.stop(),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 4 * DIRECTORY_REPLY_DEADLINE_MS)),
    ]);
    assert.ok(stopped, "SIGTERM stopped the node");
    assert.equal(stopped.code, 0, stopped.output);
    assert.match(stopped.output, /not answered in \d+ ms; reconnecting/, "the replacement is logged");
  } finally {
    await node?.stop("SIGKILL").catch(() => {});
    await proxy.close();
    await redis.stop();
  }
});

Deno.test("peers without the secret, and random bytes on the node port, get nothing and break nothing", async () => {
  const secretFile = await Deno.makeTempFile();
  await Deno.writeTextFile(secretFile, "correct horse battery staple\n");
  const cluster = await startCluster(2, { extraArgs: ["--cluster-secret-file", secretFile] });
  try {
    const [one, two] = cluster.nodes;
    await using writer = await PlasmaClient.connect(one.socketPath);
    const id = await writer.put(new Uint8Array([4, 5, 6]));
    await assert.rejects(
      PeerConnection.connect(one.nodeAddress, "intruder", null),
      /requires a cluster secret/,
    );
    await assert.rejects(
      async () => {
        const peer = await PeerConnection.connect(
          one.nodeAddress,
          "intruder",
          new TextEncoder().encode("wrong secret 0123456"),
        );
        peer.close();
      },
      /refused our authentication|closed|does not know/,
    );
    for (let round = 0; round < 20; round++) {
      const [hostname, port] = one.nodeAddress.split(":");
      const conn = await Deno.connect({ hostname, port: Number(port) });
      await conn.write(crypto.getRandomValues(new Uint8Array(1 + round * 97))).catch(() => {});
      const sink = new Uint8Array(4096);
      while ((await conn.read(sink).catch(() => null)) !== null) { /* until the node closes it */ }
      conn.close();
    }
    await using reader = await PlasmaClient.connect(two.socketPath);
    const [object] = await reader.get([id], { timeoutMs: 10_000 });
    assert.deepEqual(object && [...object.data], [4, 5, 6], "authenticated nodes still share objects");
  } finally {
    await cluster.stop();
    await Deno.remove(secretFile);
  }
});
