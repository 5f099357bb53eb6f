import assert from "node:assert/strict";
import { ObjectSource } from "../protocol/messages.ts";
import { type CoreParts, newObject, seededRandom, testSeed, withCore } from "./_core_fixture.ts";
import type { LocalObject } from "./local_object.ts";
import type { ObjectCounters } from "./stats_collector.ts";

const OPERATIONS = 600;
const HOLDERS = 3;

/** The model: what each counter must be, computed from scratch over the live objects. */
function expectedCounters(objects: Iterable<LocalObject>, spillingEnabled: boolean): Partial<ObjectCounters> {
  const counters: Record<string, number> = {};
  const add = (name: string, object: LocalObject) => {
    counters[`numObjects${name}`] = (counters[`numObjects${name}`] ?? 0) + 1;
    counters[`numBytes${name}`] = (counters[`numBytes${name}`] ?? 0) + object.sizeBytes;
  };
  for (const name of ["InUse", "Evictable", "Spillable", "Unsealed", "Fallback", "CreatedByWorker", "Restored"]) {
    counters[`numObjects${name}`] = 0;
    counters[`numBytes${name}`] = 0;
  }
  counters.numObjectsReceived =
    counters.numBytesReceived =
    counters.numObjectsErrored =
    counters.numBytesErrored =
      0;
  counters.numObjects = 0;
  const sourceName: Record<number, string> = {
    [ObjectSource.CreatedByWorker]: "CreatedByWorker",
    [ObjectSource.RestoredFromStorage]: "Restored",
    [ObjectSource.ReceivedFromRemoteRaylet]: "Received",
    [ObjectSource.ErrorStoredByRaylet]: "Errored",
  };
  for (const object of objects) {
    counters.numObjects++;
    add(sourceName[object.source], object);
    if (object.refCount > 0) add("InUse", object);
    if (!object.sealed) add("Unsealed", object);
    const idle = object.sealed && object.refCount === 0;
    const primary = object.source === ObjectSource.CreatedByWorker;
    if (idle && (!spillingEnabled || !primary)) add("Evictable", object);
    if (idle && primary) add("Spillable", object);
  }
  return counters;
}

function pick<T>(items: T[], random: () => number): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(random() * items.length)];
}

/** Runs random operations, checking every counter against the model after each one. */
function runSequence(parts: CoreParts, random: () => number, spillingEnabled: boolean): void {
  const { lifecycle, stats, eviction } = parts;
  const holders = Array.from({ length: HOLDERS }, () => new Set<string>());
  let created = 0;
  let createdBytes = 0;
  let createdObjects = 0;
  const live = () => [...lifecycle.values()];
  const check = (step: string) => {
    const expected = expectedCounters(live(), spillingEnabled);
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(stats.counters[name as keyof ObjectCounters], value, `${name} after ${step}`);
    }
    assert.equal(stats.counters.numBytesCreatedTotal, createdBytes, `numBytesCreatedTotal after ${step}`);
    assert.equal(stats.counters.numObjectsCreatedTotal, createdObjects, `numObjectsCreatedTotal after ${step}`);
    const inLru = new Set(eviction.chooseBySize(Infinity).map((object) => object.key));
    const evictable = live().filter((object) => stats.isEvictable(object)).map((object) => object.key);
    assert.deepEqual([...inLru].sort(), evictable.sort(), `the LRU holds exactly the evictable objects after ${step}`);
  };
  for (let step = 0; step < OPERATIONS; step++) {
    const operation = Math.floor(random() * 7);
    const holder = holders[Math.floor(random() * HOLDERS)];
    const object = pick(live(), random);
    let name = "nothing";
    if (operation === 0 || object === undefined) {
      const source = Math.floor(random() * 4) as ObjectSource;
      const size = Math.floor(random() * 300);
      const result = lifecycle.create(newObject(`o${created++}`, size, source));
      if (typeof result !== "number") {
        createdBytes += size;
        createdObjects++;
        lifecycle.addReference(result, holder);
      }
      name = `create ${size} bytes from source ${source}`;
    } else if (operation === 1 && !object.sealed) {
      lifecycle.seal(object);
      name = "seal";
    } else if (operation === 2 && object.sealed) {
      lifecycle.addReference(object, holder);
      name = "reference";
    } else if (operation === 3 && object.sealed) {
      lifecycle.removeReference(object, holder);
      name = "release";
    } else if (operation === 4) {
      lifecycle.delete(object);
      name = "delete";
    } else if (operation === 5 && !object.sealed) {
      for (const other of holders) if (other !== holder) lifecycle.removeReference(object, other);
      lifecycle.abort(object, holder);
      name = "abort";
    } else if (operation === 6 && stats.isEvictable(object)) {
      lifecycle.evict(object);
      name = "evict";
    }
    check(`step ${step} (${name})`);
  }
  // Everything goes: every counter of the present must be back at its baseline.
  for (const object of live()) {
    // A seal or release may remove it (deleted while pending): its handle is stale then.
    if (!object.sealed) lifecycle.seal(object);
    for (const holder of holders) if (object.alive) lifecycle.removeReference(object, holder);
    if (object.alive) lifecycle.delete(object);
  }
  check("removing everything");
  assert.equal(stats.counters.numObjects, 0);
  assert.equal(stats.counters.numBytesInUse, 0);
  assert.equal(parts.memory.stats().allocatedBytes, 0);
}

for (const spillingEnabled of [false, true]) {
  Deno.test(`stats: every counter matches a model over ${OPERATIONS} random operations and returns to baseline (spilling ${spillingEnabled ? "on" : "off"})`, async () => {
    const seed = testSeed();
    console.log(`seed ${seed} (replay: PLASMA_TEST_SEED=${seed})`);
    await withCore({ capacityBytes: 16 * 1024, spillingEnabled }, (parts) => {
      runSequence(parts, seededRandom(seed), spillingEnabled);
    });
  });
}

Deno.test("stats: a counter that would go negative is caught", async () => {
  await withCore({ capacityBytes: 4096 }, ({ stats, lifecycle }) => {
    const result = lifecycle.create(newObject("x", 10));
    assert.ok(typeof result !== "number");
    stats.removed(result);
    assert.throws(() => stats.removed(result), /stats went negative/);
  });
});
