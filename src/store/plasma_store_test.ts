import assert from "node:assert/strict";
import { ErrorCode, ObjectSource } from "../protocol/messages.ts";
import type { CreateRequest } from "../protocol/messages.ts";
import { id } from "./_core_fixture.ts";
import { PlasmaStore } from "./plasma_store.ts";
import { StoreClient } from "./store_client.ts";
import type { StoreEvent } from "./store_events.ts";
import type { CreateResult, GetResult, StoreOutput } from "./store_output.ts";

const CAPACITY = 64 * 1024;

/** Records what the core sends through its output and events. */
class RecordingOutput implements StoreOutput {
  readonly creates: [number, CreateResult][] = [];
  readonly gets: [number, GetResult][] = [];
  createFinished(client: StoreClient, result: CreateResult): void {
    this.creates.push([client.id, result]);
  }
  getFinished(client: StoreClient, result: GetResult): void {
    this.gets.push([client.id, result]);
  }
}

async function withStore(
  body: (store: PlasmaStore, output: RecordingOutput, events: StoreEvent[]) => void | Promise<void>,
) {
  const output = new RecordingOutput();
  const events: StoreEvent[] = [];
  const store = new PlasmaStore(
    {
      capacityBytes: CAPACITY,
      directory: "/dev/shm",
      populate: false,
      hugepages: false,
      fullDelayMs: 60_000,
      oomGraceMs: 60_000,
    },
    { output, events: (event) => events.push(event), enter: (work) => work() },
  );
  try {
    await body(store, output, events);
  } finally {
    await store.close();
  }
}

function request(name: string, dataSize: number): CreateRequest {
  return {
    objectId: id(name),
    dataSize,
    metadataSize: 0,
    source: ObjectSource.CreatedByWorker,
    deviceNum: 0,
    tryImmediately: false,
  };
}

Deno.test("store: a queued create that fits is answered at once; seal and get answer with outcomes, not output", async () => {
  await withStore((store, output) => {
    const writer = new StoreClient(1);
    const reader = new StoreClient(2);
    const created = store.createQueued(writer, request("a", 10));
    assert.equal(created.error, ErrorCode.OK);
    assert.equal(created.retryId, 0);
    assert.ok(created.object !== null);
    assert.equal(store.seal(reader, id("a"), true), ErrorCode.NotPermitted, "only the creator seals");
    assert.equal(store.seal(writer, id("a"), true), ErrorCode.OK);
    const got = store.get(reader, [id("a")], 0);
    assert.equal(got?.found[0]?.key, "a");
    assert.equal(store.release(reader, id("a")), ErrorCode.OK);
    assert.equal(store.delete(id("a")), ErrorCode.OK);
    assert.equal(store.contains(id("a")), false);
    assert.deepEqual([output.creates.length, output.gets.length], [0, 0]);
  });
});

Deno.test("store: a get that waits finishes through the output when the object is sealed, and wanted ids are announced", async () => {
  await withStore((store, output, events) => {
    const writer = new StoreClient(1);
    const reader = new StoreClient(2);
    assert.equal(store.get(reader, [id("later")], -1), null);
    assert.deepEqual(events.filter((event) => event.type === "objectsWanted"), [
      { type: "objectsWanted", objectIdsHex: ["6c61746572"], priority: "get" },
    ]);
    assert.equal(store.snapshot().numPendingGets, 1);
    store.createNow(writer, request("later", 4));
    store.seal(writer, id("later"), true);
    assert.equal(output.gets.length, 1);
    const [clientId, result] = output.gets[0];
    assert.equal(clientId, reader.id);
    assert.equal(result.found[0]?.key, "later");
    assert.equal(store.snapshot().numPendingGets, 0);
  });
});

Deno.test("store: a create that waits for memory gets a retry id, and a held CreateRetry is answered through the output", async () => {
  await withStore((store, output) => {
    const holder = new StoreClient(1);
    const waiter = new StoreClient(2);
    const big = store.createNow(holder, request("big", CAPACITY - 64));
    assert.ok(!("error" in big));
    const queued = store.createQueued(waiter, request("next", 1024));
    assert.ok(queued.retryId > 0, "not finished: ask again with this id");
    assert.equal(store.retryCreate(waiter, id("next"), queued.retryId, 60_000), null, "held until it finishes");
    assert.equal(store.abort(holder, id("big")), ErrorCode.OK);
    assert.equal(output.creates.length, 1);
    const [clientId, result] = output.creates[0];
    assert.equal(clientId, waiter.id);
    assert.equal(result.error, ErrorCode.OK);
    assert.equal(result.object?.key, "next");
    const unknown = store.retryCreate(waiter, id("next"), queued.retryId, 10);
    assert.equal(unknown?.error, ErrorCode.InvalidRequest, "a claimed request is forgotten");
  });
});

Deno.test("store: an awaited create with inline bytes is written and sealed before it is answered", async () => {
  await withStore((store, output) => {
    const client = new StoreClient(1);
    const bytes = { data: new Uint8Array([1, 2, 3]), metadata: new Uint8Array([9]), digest: new Uint8Array(8).fill(7) };
    store.createAwaited(client, { ...request("inline", 3), metadataSize: 1 }, bytes);
    assert.equal(output.creates.length, 1);
    const [, result] = output.creates[0];
    assert.equal(result.inline, true);
    assert.equal(result.error, ErrorCode.OK);
    const [object] = store.objects();
    assert.equal(object.sealed, true);
    assert.equal(object.refCount, 0, "the creator's reference went with the seal");
    assert.equal(object.digestKey?.length, 8);
  });
});

Deno.test("store: a disconnect aborts unsealed objects, drops references and gets, and the counters return to zero", async () => {
  await withStore((store) => {
    const client = new StoreClient(1);
    store.clientConnected(client);
    store.createNow(client, request("unsealed", 10));
    store.createNow(client, request("sealed", 10));
    store.seal(client, id("sealed"), false);
    store.get(client, [id("missing")], -1);
    assert.equal(store.snapshot().numClients, 1);
    store.disconnect(client);
    const stats = store.snapshot();
    assert.deepEqual(
      [stats.numClients, stats.numPendingGets, stats.numObjectsInUse, stats.numObjectsUnsealed, stats.numObjects],
      [0, 0, 0, 0, 1],
    );
  });
});

Deno.test("store: numGetRequests counts each get request once, however many ids and however it ends", async () => {
  await withStore((store) => {
    const writer = new StoreClient(1);
    const reader = new StoreClient(2);
    const count = () => store.snapshot().numGetRequests;
    assert.equal(count(), 0);
    store.createNow(writer, request("a", 4));
    store.seal(writer, id("a"), true);
    store.get(reader, [id("a")], 0);
    assert.equal(count(), 1, "a get answered at once");
    store.get(reader, [id("a"), id("missing"), id("gone")], 0);
    assert.equal(count(), 2, "one request naming three ids, two missing at timeout 0");
    assert.equal(store.get(reader, [id("later")], -1), null);
    assert.equal(count(), 3, "a get left waiting counts when it arrives");
    assert.equal(store.snapshot().numObjectsCreatedTotal, 1, "gets create nothing");
  });
});

Deno.test("store: numObjectsCreatedTotal counts objects allocated and keeps counting after they are deleted", async () => {
  await withStore((store) => {
    const writer = new StoreClient(1);
    const count = () => store.snapshot().numObjectsCreatedTotal;
    store.createNow(writer, request("a", 4));
    store.createNow(writer, request("b", 4));
    assert.equal(count(), 2);
    const duplicate = store.createNow(writer, request("a", 4));
    assert.ok("error" in duplicate && duplicate.error === ErrorCode.ObjectExists);
    assert.equal(count(), 2, "a refused create counts nothing");
    store.seal(writer, id("a"), true);
    assert.equal(store.abort(writer, id("b")), ErrorCode.OK);
    assert.equal(store.delete(id("a")), ErrorCode.OK);
    assert.equal(store.snapshot().numObjects, 0);
    assert.equal(count(), 2, "a total, not a live count");
    assert.equal(store.snapshot().numGetRequests, 0, "creates get nothing");
  });
});
