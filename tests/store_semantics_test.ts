/**
 * The store's semantics through the real client, with the store on its own Worker thread
 * (the ObjectStoreRunner) and real Unix sockets and shared memory.
 */
import assert from "node:assert/strict";
import {
  NotPermittedError,
  ObjectExistsError,
  ObjectId,
  ObjectNotFoundError,
  ObjectSealedError,
  OutOfMemoryError,
  PlasmaClient,
} from "../src/client/mod.ts";
import { stateOf, withStore } from "./_store_fixture.ts";

const MIB = 1024 * 1024;

Deno.test("create, write, seal, then get returns the same bytes and metadata in place", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const id = ObjectId.random();
    const buffer = await client.create(id, 11, { metadata: new Uint8Array([7, 8]) });
    buffer.set(new TextEncoder().encode("hello world"));
    await client.seal(id);
    assert.equal(buffer.length, 0, "the create view stops working at seal");
    const [object] = await client.get([id], { timeoutMs: 0 });
    assert.equal(new TextDecoder().decode(object!.data), "hello world");
    assert.deepEqual([...object!.metadata], [7, 8]);
    await client.release(id);
    assert.equal(object!.data.length, 0, "a released view reads as empty");
    await assert.rejects(client.release(id), ObjectNotFoundError);
  });
});

Deno.test("get with timeout 0 or 100 ms gives null while a longer get still waits; forever is woken by a seal", async () => {
  await withStore(async ({ socketPath }) => {
    await using reader = await PlasmaClient.connect(socketPath);
    await using patientReader = await PlasmaClient.connect(socketPath);
    await using writer = await PlasmaClient.connect(socketPath);
    const id = ObjectId.random();
    // Order, not time: the short gets must be answered while a 60 s get of the same id still waits.
    let patientAnswered = false;
    const patient = patientReader.get([id], { timeoutMs: 60_000 }).finally(() => (patientAnswered = true));
    assert.deepEqual(await reader.get([id], { timeoutMs: 0 }), [null]);
    assert.deepEqual(await reader.get([id], { timeoutMs: 100 }), [null]);
    assert.equal(patientAnswered, false, "the 60 s get answered before the object existed");
    const waiting = reader.get([id]);
    await writer.put(new Uint8Array([42]), { id });
    for (const [object] of [await waiting, await patient]) assert.deepEqual([...object!.data], [42]);
    await reader.release(id);
    await patientReader.release(id);
  });
});

Deno.test("a get of duplicate ids and missing ids answers every id in order", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const present = await client.put(new Uint8Array([1]));
    const missing = ObjectId.random();
    const objects = await client.get([present, missing, present], { timeoutMs: 0 });
    assert.equal(objects[0], objects[2]);
    assert.equal(objects[1], null);
    const stats = await client.stats();
    assert.equal(stats.numObjectsInUse, 1, "the store counts one reference per client");
    await client.release(present);
    assert.equal((await client.stats()).numObjectsInUse, 0);
  });
});

Deno.test("a duplicate create fails with ObjectExistsError", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const id = await client.put(new Uint8Array(10));
    await assert.rejects(client.create(id, 10), ObjectExistsError);
    await assert.rejects(
      client.put(new Uint8Array(3), { id }),
      (error: unknown) => error instanceof ObjectExistsError && error.code === "ObjectExists",
    );
  });
});

Deno.test("deleting a referenced object is deferred until its release", async () => {
  await withStore(async ({ socketPath, events }) => {
    await using owner = await PlasmaClient.connect(socketPath);
    await using reader = await PlasmaClient.connect(socketPath);
    const id = await owner.put(new Uint8Array(100));
    await reader.get([id], { timeoutMs: 0 });
    assert.deepEqual(await owner.delete([id]), ["deferred"]);
    assert.equal(await owner.contains(id), true);
    await reader.release(id);
    // A release is fire-and-forget on another connection: the delete happens when the store reads it.
    await waitFor(async () => !(await owner.contains(id)));
    assert.deepEqual(await owner.delete([id]), ["not_found"]);
    assert.equal((await owner.stats()).allocatedBytes, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(events.some((event) => event.type === "objectDeleted" && event.objectIdHex === id.toHex()));
  });
});

Deno.test("deleting an unsealed object removes it once sealed and released", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const id = ObjectId.random();
    await client.create(id, 10);
    assert.deepEqual(await client.delete([id]), ["deferred"]);
    await client.seal(id);
    assert.equal(await client.contains(id), false);
    assert.equal((await client.stats()).numObjects, 0);
  });
});

Deno.test("only the creator may abort or seal an unsealed object", async () => {
  await withStore(async ({ socketPath }) => {
    await using creator = await PlasmaClient.connect(socketPath);
    await using other = await PlasmaClient.connect(socketPath);
    const id = ObjectId.random();
    await creator.create(id, 64);
    await assert.rejects(other.abort(id), NotPermittedError);
    await assert.rejects(other.seal(id), NotPermittedError);
    await creator.abort(id);
    assert.equal((await creator.stats()).numObjects, 0);
    const sealed = await creator.put(new Uint8Array(4));
    await assert.rejects(creator.abort(sealed), ObjectSealedError);
  });
});

Deno.test("a create larger than the capacity fails at once with the store's numbers", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const started = performance.now();
    await assert.rejects(
      client.create(ObjectId.random(), 9 * MIB),
      (error: unknown) => error instanceof OutOfMemoryError && /9\.0 MiB requested.*of 8\.0 MiB/.test(error.message),
    );
    assert.ok(performance.now() - started < 250);
  }, { memoryBytes: 8 * MIB });
});

Deno.test("a queued create waits until another client frees memory", async () => {
  await withStore(async ({ socketPath, events }) => {
    await using holder = await PlasmaClient.connect(socketPath);
    await using waiter = await PlasmaClient.connect(socketPath);
    const big = ObjectId.random();
    await holder.create(big, 6 * MIB);
    const queued = waiter.create(ObjectId.random(), 4 * MIB);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(events.some((event) => event.type === "storeFull"), true);
    await holder.abort(big);
    const buffer = await queued;
    assert.equal(buffer.length, 4 * MIB);
  }, { memoryBytes: 8 * MIB, oomGraceMs: 5_000 });
});

Deno.test("a queued create fails with OutOfMemoryError after the grace period", async () => {
  await withStore(async ({ socketPath }) => {
    await using holder = await PlasmaClient.connect(socketPath);
    await using waiter = await PlasmaClient.connect(socketPath);
    await holder.create(ObjectId.random(), 6 * MIB);
    const started = performance.now();
    await assert.rejects(waiter.create(ObjectId.random(), 4 * MIB), OutOfMemoryError);
    assert.ok(performance.now() - started >= 250, "it waited the grace period");
    assert.equal((await waiter.stats()).numQueuedCreates, 0);
  }, { memoryBytes: 8 * MIB, oomGraceMs: 300 });
});

Deno.test("a client that closes with unsealed and referenced objects leaves the stats at baseline", async () => {
  await withStore(async ({ socketPath }) => {
    await using observer = await PlasmaClient.connect(socketPath);
    const kept = await observer.put(new Uint8Array(1000));
    const baseline = await observer.stats();
    const leaver = await PlasmaClient.connect(socketPath);
    await leaver.create(ObjectId.random(), 5000);
    await leaver.get([kept], { timeoutMs: 0 });
    assert.equal((await observer.stats()).numObjectsUnsealed, 1);
    leaver.close();
    await waitFor(async () => (await observer.stats()).numClients === 1);
    const after = await observer.stats();
    assert.deepEqual(stateOf(after), stateOf(baseline));
  });
});

Deno.test("10k small objects are created, listed, read back and deleted", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const ids: ObjectId[] = [];
    for (let batch = 0; batch < 100; batch++) {
      const items = Array.from({ length: 100 }, (_, index) => ({
        data: new Uint8Array(new Uint32Array([batch * 100 + index]).buffer),
      }));
      ids.push(...await client.putBatch(items));
    }
    assert.equal((await client.list()).length, 10_000);
    for (let start = 0; start < ids.length; start += 1000) {
      const objects = await client.get(ids.slice(start, start + 1000), { timeoutMs: 0 });
      objects.forEach((object, index) => assert.equal(new Uint32Array(object!.data.slice().buffer)[0], start + index));
      for (const id of ids.slice(start, start + 1000)) await client.release(id);
    }
    const outcomes = await client.delete(ids);
    assert.ok(outcomes.every((outcome) => outcome === "deleted"));
    const stats = await client.stats();
    assert.equal(stats.numObjects, 0);
    assert.equal(stats.allocatedBytes, 0);
  });
});

Deno.test("the store reports objects added with their size and source", async () => {
  await withStore(async ({ socketPath, events }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const id = await client.put(new Uint8Array(123), { metadata: new Uint8Array(4) });
    await waitFor(() => events.some((event) => event.type === "objectAdded"));
    assert.deepEqual(events.find((event) => event.type === "objectAdded"), {
      type: "objectAdded",
      objectIdHex: id.toHex(),
      dataSize: 123,
      metadataSize: 4,
      source: "CreatedByWorker",
    });
  });
});

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error("condition did not hold in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("putBatch with receivedFromRemote stores secondary copies, as a create with that source does", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const [received] = await client.putBatch([{ data: new Uint8Array(10) }], { receivedFromRemote: true });
    const [own] = await client.putBatch([{ data: new Uint8Array(20) }]);
    const sources = new Map((await client.list()).map((entry) => [entry.id.toHex(), entry.source]));
    assert.equal(sources.get(received.toHex()), "ReceivedFromRemoteRaylet");
    assert.equal(sources.get(own.toHex()), "CreatedByWorker");
    const stats = await client.stats();
    assert.deepEqual([stats.numObjectsReceived, stats.numBytesReceived], [1, 10]);
    assert.equal(stats.numObjectsCreatedByWorker, 1);
  });
});
