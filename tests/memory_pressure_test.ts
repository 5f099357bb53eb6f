/** A full store degrades like Ray's: LRU eviction, a grace period, fallback files, clear errors. */
import assert from "node:assert/strict";
import { ObjectId, OutOfDiskError, OutOfMemoryError, PlasmaClient } from "../src/client/mod.ts";
import { eventually, outputOf, spawnClient, spawnStore, withSmallDisk, withStore } from "./_store_fixture.ts";

const MIB = 1024 * 1024;

/** The LRU model: evict oldest-first until max(needed, 20% of capacity) is freed, skipping held ones. */
function modelVictims(
  order: string[],
  sizes: Map<string, number>,
  held: Set<string>,
  needed: number,
  capacity: number,
) {
  const target = Math.max(needed, Math.ceil(capacity * 0.2));
  const victims: string[] = [];
  let freed = 0;
  for (const name of order) {
    if (freed >= target) break;
    if (held.has(name)) continue;
    victims.push(name);
    freed += sizes.get(name)!;
  }
  return victims;
}

Deno.test("eviction takes the least recently used unreferenced objects, as much as the model says", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const names = ["a", "b", "c", "d", "e", "f", "g"];
    const ids = new Map(names.map((name) => [name, ObjectId.random()]));
    const sizes = new Map(names.map((name) => [name, MIB]));
    for (const name of names) await client.put(new Uint8Array(MIB), { id: ids.get(name) });
    // Touch b then a: each get+release moves it to the most recent end.
    const order = ["c", "d", "e", "f", "g", "b", "a"];
    for (const name of ["b", "a"]) {
      await client.get([ids.get(name)!], { timeoutMs: 0 });
      await client.release(ids.get(name)!);
    }
    // Hold c: a referenced object is never evicted.
    await client.get([ids.get("c")!], { timeoutMs: 0 });
    const allocated = (await client.stats()).allocatedBytes;
    const size = 2 * MIB;
    const expected = modelVictims(order, sizes, new Set(["c"]), allocated + size - 8 * MIB, 8 * MIB);
    assert.deepEqual(expected, ["d", "e"], "the model itself: 20% of 8 MiB is more than the 1 MiB missing");
    const big = await client.create(ObjectId.random(), size);
    assert.equal(big.length, size);
    const present = await Promise.all(
      names.map(async (name) => [name, await client.contains(ids.get(name)!)] as const),
    );
    const evicted = present.filter(([, here]) => !here).map(([name]) => name);
    assert.deepEqual(evicted, expected);
    const stats = await client.stats();
    assert.equal(stats.numObjectsEvicted, expected.length);
    assert.equal(stats.numBytesEvicted, expected.length * MIB);
  }, { memoryBytes: 8 * MIB });
});

Deno.test("without spilling the store is an LRU cache: 3x its capacity goes through, the newest stay", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const ids: ObjectId[] = [];
    for (let index = 0; index < 24; index++) ids.push(await client.put(new Uint8Array(MIB).fill(index)));
    assert.equal(await client.contains(ids[23]), true);
    assert.equal(await client.contains(ids[0]), false);
    const [newest] = await client.get([ids[23]], { timeoutMs: 0 });
    assert.equal(newest!.data[100], 23);
    await client.release(ids[23]);
    assert.ok((await client.stats()).numObjectsEvicted >= 16);
  }, { memoryBytes: 8 * MIB });
});

Deno.test("a create that cannot fit waits the grace period, then lands in a fallback file", async () => {
  const fallbackDirectory = await Deno.makeTempDir();
  try {
    await withStore(async ({ socketPath }) => {
      await using holder = await PlasmaClient.connect(socketPath);
      await using writer = await PlasmaClient.connect(socketPath);
      await holder.create(ObjectId.random(), 7 * MIB); // unsealed: cannot be evicted
      const id = ObjectId.random();
      const started = performance.now();
      const buffer = await writer.create(id, 3 * MIB);
      assert.ok(performance.now() - started >= 250, "it waited the grace period first");
      buffer.fill(9);
      await writer.seal(id);
      const during = await writer.stats();
      assert.equal(during.numObjectsFallback, 1);
      assert.equal(during.numBytesFallback, 3 * MIB);
      const [object] = await holder.get([id], { timeoutMs: 0 });
      assert.equal(object!.data.length, 3 * MIB);
      assert.equal(object!.data[3 * MIB - 1], 9);
      await holder.release(id);
      // The release travels on another connection: the delete is immediate or deferred until it lands.
      const [outcome] = await writer.delete([id]);
      assert.ok(outcome === "deleted" || outcome === "deferred", outcome);
      await eventually(async () => (await writer.stats()).numObjectsFallback === 0);
      assert.equal((await writer.stats()).numBytesFallback, 0);
    }, { memoryBytes: 8 * MIB, oomGraceMs: 300, fallbackDirectory });
  } finally {
    await Deno.remove(fallbackDirectory, { recursive: true });
  }
});

Deno.test("with fallback off a create that cannot fit fails with OutOfMemory, and others keep being served", async () => {
  await withStore(async ({ socketPath }) => {
    await using holder = await PlasmaClient.connect(socketPath);
    await using waiter = await PlasmaClient.connect(socketPath);
    await using bystander = await PlasmaClient.connect(socketPath);
    await holder.create(ObjectId.random(), 7 * MIB);
    const waiting = waiter.create(ObjectId.random(), 3 * MIB);
    // While the create waits, a small put and get go through.
    const small = await bystander.put(new Uint8Array([1, 2, 3]));
    assert.equal(await bystander.contains(small), true);
    await assert.rejects(
      waiting,
      (error: unknown) =>
        error instanceof OutOfMemoryError && /3\.0 MiB requested.*fallback allocation is off/.test(error.message),
    );
  }, { memoryBytes: 8 * MIB, oomGraceMs: 300 });
});

Deno.test("a full fallback disk fails the create with OutOfDisk and the store's numbers", async () => {
  await withSmallDisk(2 * MIB, async (fallbackDirectory) => {
    await withStore(async ({ socketPath }) => {
      await using holder = await PlasmaClient.connect(socketPath);
      await using writer = await PlasmaClient.connect(socketPath);
      await holder.create(ObjectId.random(), 7 * MIB);
      await assert.rejects(
        writer.create(ObjectId.random(), 3 * MIB),
        (error: unknown) => error instanceof OutOfDiskError && /no fallback: .* free of 2\.0 MiB/.test(error.message),
      );
      assert.equal((await writer.stats()).numQueuedCreates, 0);
    }, { memoryBytes: 8 * MIB, oomGraceMs: 100, fallbackDirectory });
  });
});

Deno.test("a client killed while its create is queued leaves no trace", async () => {
  const store = await spawnStore(["--memory", "8MiB", "--oom-grace-ms", "60000", "--no-fallback"]);
  try {
    await using holder = await PlasmaClient.connect(store.socketPath);
    const held = ObjectId.random();
    await holder.create(held, 7 * MIB);
    const baseline = await holder.stats();
    const victim = spawnClient(store.socketPath, "write", "1", String(4 * MIB));
    await eventually(async () => (await holder.stats()).numQueuedCreates === 1, 20_000);
    victim.kill("SIGKILL");
    await victim.status;
    await victim.stdout.cancel();
    await victim.stderr.cancel();
    await eventually(async () => (await holder.stats()).numClients === 1);
    const after = await holder.stats();
    assert.equal(after.numQueuedCreates, 0);
    assert.deepEqual({ ...after, numBytesCreatedTotal: 0 }, { ...baseline, numBytesCreatedTotal: 0 });
    await holder.abort(held);
    // The memory the queued create waited for is free for others now.
    assert.deepEqual(
      await outputOf(spawnClient(store.socketPath, "write", "1", String(4 * MIB))).then((l) => l.length),
      1,
    );
  } finally {
    await store.stop();
  }
});

Deno.test("fallback allocations are capped: past 4x the capacity in files, creates fail with OutOfDisk", async () => {
  const fallbackDirectory = await Deno.makeTempDir();
  try {
    await withStore(async ({ socketPath }) => {
      await using client = await PlasmaClient.connect(socketPath);
      await client.create(ObjectId.random(), 7 * MIB);
      const made: ObjectId[] = [];
      for (let index = 0; index < 10; index++) {
        const id = ObjectId.random();
        await client.create(id, 3 * MIB);
        made.push(id);
      }
      assert.equal((await client.stats()).numObjectsFallback, 10);
      await assert.rejects(
        client.create(ObjectId.random(), 3 * MIB),
        (error: unknown) => error instanceof OutOfDiskError && /over the limit of 32\.0 MiB/.test(error.message),
      );
      await client.abort(made[0]);
      await client.create(ObjectId.random(), 3 * MIB); // room again once one goes
    }, { memoryBytes: 8 * MIB, oomGraceMs: 0, fallbackDirectory });
  } finally {
    await Deno.remove(fallbackDirectory, { recursive: true });
  }
});
