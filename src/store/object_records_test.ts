/**
 * The records table alone: its id index, free list, growth, creation order and stale handles,
 * checked against a Map model over a seeded random walk.
 * @module
 */
import assert from "node:assert/strict";
import { ObjectSource, ObjectState } from "../protocol/messages.ts";
import { NO_SLOT } from "./local_object.ts";
import type { LocalObject } from "./local_object.ts";
import { ObjectRecords } from "./object_records.ts";
import { seededRandom, testSeed } from "./_core_fixture.ts";

const CHUNK = { id: 1, fd: -1, sizeBytes: 1 << 20 };
const SIZES = { dataSize: 10, metadataSize: 2, source: ObjectSource.CreatedByWorker, creatorId: 3 };

function add(records: ObjectRecords, key: string, offset = 0): LocalObject {
  return records.add(key, SIZES, { chunkId: 1, offset, allocatedBytes: 64 }, CHUNK);
}

Deno.test("records: a handle reads and writes its own row, and goes stale when its slot is freed", () => {
  const records = new ObjectRecords(16);
  const a = add(records, "a", 128);
  const b = add(records, "b", 192);
  a.refCount = 2;
  a.state = ObjectState.Sealed;
  a.digestKey = "12345678";
  b.digestKey = "odd";
  assert.deepEqual([a.refCount, a.sealed, a.offset, a.sizeBytes, a.digestKey], [2, true, 128, 12, "12345678"]);
  assert.deepEqual([b.refCount, b.sealed, b.offset, b.digestKey], [0, false, 192, "odd"]);
  assert.ok(records.handle(a.slot).is(a), "two handles to one object are the same object");
  a.refCount = 0;
  records.remove(a.slot);
  assert.equal(a.alive, false);
  assert.throws(() => a.key, /stale handle/);
  const c = add(records, "c");
  assert.equal(c.slot, a.slot, "the freed slot is reused");
  assert.equal(c.is(a), false, "a reused slot is another object");
  assert.equal(c.digestKey, null, "a reused slot starts without a digest");
  assert.throws(() => add(records, "b"), /already live/);
});

Deno.test("records: the id index, free list and creation order agree with a Map over a random walk", () => {
  const seed = testSeed();
  console.log(`seed ${seed} (replay: PLASMA_TEST_SEED=${seed})`);
  const random = seededRandom(seed);
  const records = new ObjectRecords(5_000);
  const model = new Map<string, number>(); // key -> slot, in creation order
  for (let step = 0; step < 20_000; step++) {
    const grow = model.size < 3_000 ? 0.6 : 0.4;
    if (random() < grow) {
      // Keys of 1-40 bytes (longer than the inline width too), many sharing prefixes.
      const length = 1 + Math.floor(random() * 40);
      const key = Array.from({ length }, () => String.fromCharCode(Math.floor(random() * 256))).join("");
      if (model.has(key)) continue;
      model.set(key, add(records, key).slot);
    } else if (model.size > 0) {
      const keys = [...model.keys()];
      const key = keys[Math.floor(random() * keys.length)];
      records.remove(model.get(key)!);
      model.delete(key);
    }
    if (step % 1_000 === 0 || step === 19_999) {
      for (const [key, slot] of model) assert.equal(records.find(key), slot, `find after step ${step}`);
      assert.equal(records.find("not a key at all, too long to be one of them"), NO_SLOT);
      assert.deepEqual([...records].map((object) => object.key), [...model.keys()], "creation order");
      assert.equal(records.size, model.size);
    }
  }
});

Deno.test("records: a full table refuses another record instead of overwriting one", () => {
  const records = new ObjectRecords(2);
  add(records, "a");
  add(records, "b");
  assert.throws(() => add(records, "c"), /all 2 record slots are in use/);
  assert.equal(records.find("a"), 0);
  assert.equal(records.find("c"), NO_SLOT);
});
