import assert from "node:assert/strict";
import { ErrorCode } from "../protocol/messages.ts";
import { type CoreParts, id, mustCreate, newObject, withCore } from "./_core_fixture.ts";
import { GetRequestQueue } from "./get_request_queue.ts";
import { StoreClient } from "./store_client.ts";
import { PENDING_GET_IDS_MAX, PENDING_GET_IDS_PER_CLIENT_MAX } from "./constants.ts";
import { checkPendingGets } from "./validation.ts";
import type { GetResult } from "./store_output.ts";

const CAPACITY = 64 * 1024;

/** A get queue over real parts, recording the answers of gets that waited. */
function queueOver(parts: CoreParts) {
  const answered: GetResult[] = [];
  const queue = new GetRequestQueue(parts.lifecycle, (_client, get) => answered.push(get), (work) => work());
  parts.onSealed.push((object) => queue.objectSealed(object));
  return { queue, answered };
}

function sealed(parts: CoreParts, name: string) {
  const object = mustCreate(parts.lifecycle, newObject(name, 8));
  parts.lifecycle.seal(object);
  return object;
}

const found = (get: GetResult) => get.found.map((object) => object?.key ?? null);

Deno.test("get queue: ids are deduplicated, found objects referenced once, and a get of sealed objects answers at once", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const { queue, answered } = queueOver(parts);
    const object = sealed(parts, "a");
    const client = new StoreClient(1);
    const get = queue.add(client, [id("a"), id("a")], { timeoutMs: -1 });
    assert.ok(get !== null);
    assert.deepEqual(get.keys, ["a"]);
    assert.equal(get.requested.length, 2, "the ids as asked are kept for Arrow's reply");
    assert.deepEqual(found(get), ["a"]);
    assert.equal(object.refCount, 1);
    assert.deepEqual([...client.objects], ["a"]);
    assert.equal(answered.length, 0, "an answer at once is returned, not sent through the output");
    assert.equal(queue.size, 0);
  });
});

Deno.test("get queue: duplicates are dropped the same way in short gets (scanned) and long ones (a set)", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const { queue } = queueOver(parts);
    const client = new StoreClient(1);
    sealed(parts, "a");
    sealed(parts, "b");
    const short = queue.add(client, [id("b"), id("a"), id("b")], { timeoutMs: 0 })!;
    assert.deepEqual(short.keys, ["b", "a"]);
    const names = ["a", "b", "c", "a", "d", "b", "e", "f", "g", "c", "h"];
    const long = queue.add(client, names.map(id), { timeoutMs: 0 })!;
    assert.deepEqual(long.keys, ["a", "b", "c", "d", "e", "f", "g", "h"]);
    assert.equal(long.requested.length, names.length);
    assert.deepEqual(found(long), ["a", "b", null, null, null, null, null, null]);
  });
});

Deno.test("get queue: timeout 0 answers at once with what exists; a waiting get is answered when its last id is sealed", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const { queue, answered } = queueOver(parts);
    const client = new StoreClient(1);
    sealed(parts, "a");
    assert.deepEqual(found(queue.add(client, [id("a"), id("b")], { timeoutMs: 0 })!), ["a", null]);
    assert.equal(queue.add(client, [id("b"), id("c")], { timeoutMs: -1 }), null);
    assert.equal(queue.size, 1);
    assert.equal(client.pendingGets, 1);
    sealed(parts, "b");
    assert.equal(answered.length, 0, "still waiting for c");
    sealed(parts, "c");
    assert.deepEqual(answered.map(found), [["b", "c"]]);
    assert.equal(queue.size, 0);
    assert.equal(client.pendingGets, 0);
  });
});

Deno.test("get queue: a get times out with what it found, and is answered exactly once", async () => {
  await withCore({ capacityBytes: CAPACITY }, async (parts) => {
    const { queue, answered } = queueOver(parts);
    const client = new StoreClient(1);
    assert.equal(queue.add(client, [id("a"), id("b")], { timeoutMs: 5 }), null);
    sealed(parts, "a");
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(answered.map(found), [["a", null]]);
    const b = sealed(parts, "b");
    assert.equal(answered.length, 1, "a seal after the timeout does not answer again");
    assert.equal(b.refCount, 0, "and takes no reference for the answered get");
  });
});

Deno.test("get queue: a get answered by a seal is not answered again when its timeout passes", async () => {
  await withCore({ capacityBytes: CAPACITY }, async (parts) => {
    const { queue, answered } = queueOver(parts);
    const client = new StoreClient(1);
    assert.equal(queue.add(client, [id("a")], { timeoutMs: 5 }), null);
    const a = sealed(parts, "a");
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(answered.map(found), [["a"]]);
    assert.equal(a.refCount, 1, "one reference, for the one answer");
  });
});

Deno.test("get queue: a timeout-0 get waits only for restores, and a failed restore fails it at once, dropping its references", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const { queue, answered } = queueOver(parts);
    const client = new StoreClient(1);
    const a = sealed(parts, "a");
    const restoring = (key: string) => key === "spilled";
    assert.equal(queue.add(client, [id("a"), id("spilled"), id("gone")], { timeoutMs: 0, restoring }), null);
    assert.equal(a.refCount, 1);
    const failure = { error: ErrorCode.UnexpectedError, message: "restore failed: file missing" };
    assert.equal(queue.objectFailed("spilled", failure), 1);
    assert.equal(answered.length, 1);
    assert.deepEqual(answered[0].failure, failure);
    assert.deepEqual(found(answered[0]), [null, null, null]);
    assert.equal(a.refCount, 0, "the failed get's reference to a was dropped");
    assert.equal(client.objects.size, 0);
    assert.equal(queue.size, 0);
  });
});

Deno.test("get queue: a disconnected client's gets are dropped unanswered", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const { queue, answered } = queueOver(parts);
    const leaving = new StoreClient(1);
    const staying = new StoreClient(2);
    queue.add(leaving, [id("a")], { timeoutMs: 60_000 });
    queue.add(staying, [id("a")], { timeoutMs: -1 });
    queue.removeClient(leaving);
    assert.equal(queue.size, 1);
    sealed(parts, "a");
    assert.equal(answered.length, 1);
    assert.equal(leaving.objects.size, 0);
    assert.deepEqual([...staying.objects], ["a"]);
  });
});

Deno.test("get queue: waiting ids are counted per client and in all, deduplicated, and given back when gets end", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const { queue } = queueOver(parts);
    const client = new StoreClient(1);
    const other = new StoreClient(2);
    assert.equal(queue.add(client, [id("a"), id("b"), id("a")], { timeoutMs: -1 }), null);
    assert.equal(queue.add(other, [id("b"), id("c"), id("d")], { timeoutMs: -1 }), null);
    assert.equal(client.pendingGetIds, 2);
    assert.equal(queue.idCount, 5);
    sealed(parts, "a");
    sealed(parts, "b");
    assert.equal(client.pendingGetIds, 0, "an answered get gives its ids back");
    assert.equal(queue.idCount, 3);
    queue.removeClient(other);
    assert.equal(other.pendingGetIds, 0);
    assert.equal(queue.idCount, 0);
  });
});

Deno.test("validation: a get that would pass the waiting-id limits is refused naming the limit", () => {
  const load = { clientGets: 1, clientIds: PENDING_GET_IDS_PER_CLIENT_MAX - 10, storeIds: 0 };
  checkPendingGets(load, 10);
  assert.throws(
    () => checkPendingGets(load, 11),
    new RegExp(`limit is ${PENDING_GET_IDS_PER_CLIENT_MAX} waiting ids per client`),
  );
  const full = { clientGets: 0, clientIds: 0, storeIds: PENDING_GET_IDS_MAX };
  assert.throws(() => checkPendingGets(full, 1), new RegExp(`limit is ${PENDING_GET_IDS_MAX} waiting ids in all`));
});

Deno.test("get queue: a waiting get of many ids (indexed) is filled slot by slot as its objects are sealed in any order", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const { queue, answered } = queueOver(parts);
    const client = new StoreClient(1);
    const names = Array.from({ length: 40 }, (_, index) => `o${index}`);
    const get = queue.add(client, names.map(id), { timeoutMs: -1 });
    assert.equal(get, null, "nothing is here yet: the get waits");
    const order = names.map((_, index) => (index * 17) % names.length); // a permutation (17 and 40 are coprime)
    for (const [step, index] of order.entries()) {
      sealed(parts, names[index]);
      if (step < names.length - 1) assert.equal(answered.length, 0);
    }
    assert.equal(answered.length, 1);
    assert.deepEqual(found(answered[0]), names);
  });
});

Deno.test("get queue: a get that waits keeps its own copy of the ids, since the request frame's buffer is reused", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const { queue, answered } = queueOver(parts);
    const client = new StoreClient(1);
    // Both ids are views into one buffer, as a decoded frame's ids are.
    const frame = new Uint8Array([...id("p"), ...id("q"), ...id("p")]);
    const width = id("p").length;
    const views = [0, 1, 2].map((index) => frame.subarray(index * width, (index + 1) * width));
    assert.equal(queue.add(client, views, { timeoutMs: -1 }), null);
    frame.fill(0); // the next request overwrites the frame buffer
    sealed(parts, "p");
    sealed(parts, "q");
    assert.equal(answered.length, 1);
    const [get] = answered;
    assert.deepEqual(get.ids, [id("p"), id("q")]);
    assert.deepEqual(get.requested, [id("p"), id("q"), id("p")]);
    assert.deepEqual(found(get), ["p", "q"]);
  });
});
