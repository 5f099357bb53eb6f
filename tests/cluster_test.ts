/**
 * Cluster tests: store processes in cluster mode on loopback, a real Redis, objects moving
 * between nodes. Every process is stopped in `finally`.
 */
import assert from "node:assert/strict";
import { InvalidRequestError, ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { checksum, digest, holdersOf, randomBytes, startCluster } from "./_cluster_fixture.ts";
import { eventually, REPO, spawnStore, withStore } from "./_store_fixture.ts";

const MIB = 1024 * 1024;
/** PLASMA_CLUSTER_HEAVY=1 runs the full sizes (a 1 GiB object, 10,000 small ones); CI runs
 * smaller ones so the suite stays within its time budget on a shared 2-core machine. */
const HEAVY = Deno.env.get("PLASMA_CLUSTER_HEAVY") === "1";
const BIG_BYTES = HEAVY ? 1024 * MIB : 40 * MIB + 17;
const SMALL_COUNT = HEAVY ? 10_000 : 2_000;

Deno.test("objects put on node 1 are read on nodes 2 and 3 with identical bytes and metadata; pyarrow reads one on node 3", async () => {
  const cluster = await startCluster(3, { memory: HEAVY ? "1200MiB" : "256MiB" });
  try {
    const [one, two, three] = cluster.nodes;
    await using writer = await PlasmaClient.connect(one.socketPath);
    const big = randomBytes(BIG_BYTES);
    const bigId = await writer.put(big, { metadata: new TextEncoder().encode("meta-big") });
    const small = Array.from({ length: SMALL_COUNT }, (_, index) => ({ data: randomBytes(1024 + (index % 7)) }));
    const smallIds = await writer.putBatch(small);
    for (const node of [two, three]) {
      await using reader = await PlasmaClient.connect(node.socketPath);
      const [object] = await reader.get([bigId], { timeoutMs: 20_000 });
      assert.ok(object, `the big object reached ${node.nodeId}`);
      assert.equal(await digest(object.data), await digest(big));
      assert.equal(new TextDecoder().decode(object.metadata), "meta-big");
      await reader.release(bigId);
      const objects = await reader.get(smallIds, { timeoutMs: 30_000 });
      objects.forEach((got, index) => {
        assert.ok(got, `small object ${index} reached ${node.nodeId}`);
        assert.equal(checksum(got.data), checksum(small[index].data));
      });
      for (const id of smallIds) await reader.release(id);
    }
    // A pyarrow client of node 3 reads an object a TS client put on node 1 (20-byte id: Arrow's size).
    const shared = randomBytes(3 * MIB);
    const sharedId = await writer.put(shared, { metadata: new TextEncoder().encode("arrow") });
    const python = new Deno.Command(`${REPO}.venv/bin/python`, {
      args: [`${REPO}tests/fixtures/pyarrow_role.py`, three.socketPath, "read", sharedId.toHex()],
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stdout, stderr } = await python.output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const [hex, sum, meta] = new TextDecoder().decode(stdout).trim().split(" ");
    assert.deepEqual([hex, Number(sum), meta], [sharedId.toHex(), checksum(shared), "arrow"]);
  } finally {
    await cluster.stop();
  }
});

Deno.test("a get of an object no node holds answers null at its timeout; one put later is pulled while the get waits", async () => {
  const cluster = await startCluster(2);
  try {
    const [one, two] = cluster.nodes;
    await using writer = await PlasmaClient.connect(one.socketPath);
    await using reader = await PlasmaClient.connect(two.socketPath);
    const started = performance.now();
    assert.deepEqual(await reader.get([ObjectId.random()], { timeoutMs: 300 }), [null]);
    assert.ok(performance.now() - started < 5_000, "the get answered at its timeout");
    const id = ObjectId.random();
    const waiting = reader.get([id], { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await writer.put(new Uint8Array([1, 2, 3]), { id });
    const [object] = await waiting;
    assert.deepEqual(object?.data, new Uint8Array([1, 2, 3]));
    await reader.release(id);
  } finally {
    await cluster.stop();
  }
});

Deno.test("fetch() pulls without waiting, stats count the transfers, delete everywhere removes every copy", async () => {
  const cluster = await startCluster(2);
  try {
    const [one, two] = cluster.nodes;
    await using writer = await PlasmaClient.connect(one.socketPath);
    await using reader = await PlasmaClient.connect(two.socketPath);
    const items = [randomBytes(1000), randomBytes(5 * MIB), randomBytes(0)];
    const ids = await Promise.all(items.map((data) => writer.put(data)));
    await eventually(async () => (await holdersOf(cluster.redis.url, ids[2])).length === 1, 5_000);
    await reader.fetch(ids);
    await eventually(async () => (await Promise.all(ids.map((id) => reader.contains(id)))).every(Boolean), 10_000);
    await eventually(async () => (await reader.stats()).numObjectsPulled === 3, 2_000);
    const pulled = await reader.stats();
    assert.equal(pulled.numBytesPulled, 1000 + 5 * MIB);
    assert.equal(pulled.numObjectsReceived, 3, "the copies are counted as received from a remote node");
    await eventually(async () => (await writer.stats()).numObjectsPushed === 3, 2_000);
    assert.deepEqual(await reader.delete([ids[1]], { everywhere: true }), ["deleted"]);
    await eventually(async () => !(await writer.contains(ids[1])), 5_000);
    await eventually(async () => (await holdersOf(cluster.redis.url, ids[1])).length === 0, 5_000);
    assert.equal(await reader.contains(ids[1]), false);
    assert.ok(await writer.contains(ids[0]), "other objects stay");
  } finally {
    await cluster.stop();
  }
});

Deno.test("a single store refuses fetch and delete everywhere with InvalidRequestError", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const id = await client.put(new Uint8Array([1]));
    await assert.rejects(client.fetch([id]), InvalidRequestError);
    await assert.rejects(client.delete([id], { everywhere: true }), InvalidRequestError);
    assert.equal(await client.contains(id), true, "a refused delete deletes nothing");
    assert.equal((await client.stats()).numObjectsPulled, 0);
  });
});

Deno.test("cluster flags are checked at start-up: each bad combination exits 1 with a sentence naming the flag", async () => {
  const cases: [string[], RegExp][] = [
    [["--cluster", "redis://127.0.0.1:1"], /--cluster needs --node-address HOST:PORT/],
    [["--node-address", "127.0.0.1:7000"], /need --cluster redis:\/\/HOST:PORT/],
    [["--cluster", "http://x:1", "--node-address", "127.0.0.1:7000"], /--cluster takes redis:\/\/HOST:PORT/],
    [["--cluster", "redis://127.0.0.1:1", "--node-address", "nowhere"], /--node-address: Expected HOST:PORT/],
    [
      ["--cluster", "redis://127.0.0.1:1", "--node-address", "0.0.0.0:7000"],
      /--node-address 0.0.0.0:7000 is a wildcard/,
    ],
    [
      ["--cluster", "redis://127.0.0.1:1", "--node-address", "127.0.0.1:7000", "--cluster-secret-file", "/nonexistent"],
      /--cluster-secret-file: .*No such file|--cluster-secret-file: .*not found/i,
    ],
    [["--cluster", "redis://127.0.0.1:1", "--node-address", "127.0.0.1:7000"], /Cannot reach the cluster directory/],
  ];
  for (const [args, expected] of cases) {
    await assert.rejects(spawnStore(["--memory", "16MiB", ...args]), (error: Error) => {
      assert.match(error.message, /store exited with 1 before listening/, args.join(" "));
      assert.match(error.message, expected, args.join(" "));
      return true;
    });
  }
});
