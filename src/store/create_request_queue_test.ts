import assert from "node:assert/strict";
import { ErrorCode, ObjectSource } from "../protocol/messages.ts";
import type { CreateRequest } from "../protocol/messages.ts";
import { id } from "./_core_fixture.ts";
import { type CreateAttempt, CreateRequestQueue, type QueuedCreate } from "./create_request_queue.ts";
import type { LocalObject } from "./local_object.ts";
import { StoreClient } from "./store_client.ts";

const GRACE_MS = 2_000;

function request(name: string): CreateRequest {
  return {
    objectId: id(name),
    dataSize: 10,
    metadataSize: 0,
    source: ObjectSource.CreatedByWorker,
    deviceNum: 0,
    tryImmediately: false,
  };
}

/** A queue whose attempts answer what `memory` says, on a clock the test moves. */
function scriptedQueue() {
  const clock = { nowMs: 0 };
  const attempts: { name: string; mode: string }[] = [];
  const finished: QueuedCreate[] = [];
  const memory = { answer: "retry" as CreateAttempt };
  const queue = new CreateRequestQueue(
    (create, mode) => {
      attempts.push({ name: new TextDecoder().decode(create.request.objectId), mode });
      return memory.answer;
    },
    (create) => finished.push(create),
    (work) => work(),
    { fullDelayMs: 10, oomGraceMs: GRACE_MS, now: () => clock.nowMs },
  );
  return { queue, clock, attempts, finished, memory };
}

const OBJECT = { key: "x" } as LocalObject;
const names = (creates: QueuedCreate[]) => creates.map((create) => new TextDecoder().decode(create.request.objectId));

Deno.test("create queue: requests finish in FIFO order and the head blocks those behind it", () => {
  const { queue, attempts, finished, memory } = scriptedQueue();
  try {
    const client = new StoreClient(1);
    for (const name of ["a", "b", "c"]) queue.add(client, request(name));
    assert.equal(client.queuedCreates, 3);
    queue.process();
    assert.deepEqual(attempts.map((attempt) => attempt.name), ["a"], "only the head is tried while memory is short");
    memory.answer = OBJECT;
    queue.process();
    assert.deepEqual(names(finished), ["a", "b", "c"]);
    assert.equal(queue.size, 0);
    assert.equal(client.queuedCreates, 0);
  } finally {
    queue.close();
  }
});

Deno.test("create queue: retry ids are distinct, found only by their own client, and forgotten once claimed", () => {
  const { queue, memory } = scriptedQueue();
  try {
    const client = new StoreClient(1);
    const other = new StoreClient(2);
    const first = queue.add(client, request("a"));
    const second = queue.add(other, request("b"));
    assert.ok(first.requestId > 0 && second.requestId > first.requestId);
    assert.equal(queue.find(first.requestId, client), first);
    assert.equal(queue.find(first.requestId, other), undefined, "another client cannot claim it");
    assert.throws(() => queue.claim(first), /claiming an unfinished create/);
    memory.answer = OBJECT;
    queue.process();
    assert.equal(first.result, OBJECT);
    queue.claim(first);
    assert.equal(queue.find(first.requestId, client), undefined);
  } finally {
    queue.close();
  }
});

Deno.test("create queue: the head waits its grace period, then takes the fallback, then fails with OutOfMemory", () => {
  const { queue, clock, attempts, finished } = scriptedQueue();
  try {
    queue.add(new StoreClient(1), request("a"));
    queue.process();
    clock.nowMs = GRACE_MS - 1;
    queue.process();
    assert.deepEqual(attempts.map((attempt) => attempt.mode), ["queued", "queued"]);
    assert.equal(finished.length, 0);
    clock.nowMs = GRACE_MS;
    queue.process();
    assert.equal(attempts.at(-1)!.mode, "fallback");
    assert.equal(finished.length, 1);
    assert.equal((finished[0].result as { error: ErrorCode }).error, ErrorCode.OutOfMemory);
  } finally {
    queue.close();
  }
});

Deno.test("create queue: while a spill is in flight the head waits without using up its grace", () => {
  const { queue, clock, attempts, finished, memory } = scriptedQueue();
  try {
    queue.add(new StoreClient(1), request("a"));
    clock.nowMs = GRACE_MS - 100;
    memory.answer = "transient";
    queue.process();
    memory.answer = "retry";
    clock.nowMs = GRACE_MS + 100;
    queue.process();
    assert.deepEqual(attempts.map((attempt) => attempt.mode), ["queued", "queued"], "the grace restarted at the spill");
    assert.equal(finished.length, 0);
    clock.nowMs = 2 * GRACE_MS;
    queue.process();
    assert.equal(attempts.at(-1)!.mode, "fallback");
  } finally {
    queue.close();
  }
});

Deno.test("create queue: a disconnected client's requests go, queued or finished, and the others keep their order", () => {
  const { queue, memory, finished } = scriptedQueue();
  try {
    const leaving = new StoreClient(1);
    const staying = new StoreClient(2);
    const done = queue.add(leaving, request("done"));
    memory.answer = OBJECT;
    queue.process();
    memory.answer = "retry";
    queue.add(staying, request("s1"));
    queue.add(leaving, request("l1"));
    queue.add(staying, request("s2"));
    queue.removeClient(leaving);
    assert.equal(queue.find(done.requestId, leaving), undefined);
    assert.equal(leaving.queuedCreates, 0);
    memory.answer = OBJECT;
    queue.process();
    assert.deepEqual(names(finished), ["done", "s1", "s2"]);
  } finally {
    queue.close();
  }
});
