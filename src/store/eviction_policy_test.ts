import assert from "node:assert/strict";
import { type CoreParts, mustCreate, newObject, withCore } from "./_core_fixture.ts";
import { EVICTION_FRACTION_MIN } from "./eviction_policy.ts";
import type { LocalObject } from "./local_object.ts";

const CAPACITY = 64 * 1024;

/** Creates and seals unreferenced objects of `sizeBytes` each (evictable: spilling is off). */
function sealedObjects({ lifecycle }: CoreParts, names: string[], sizeBytes: number): LocalObject[] {
  return names.map((name) => {
    const object = mustCreate(lifecycle, newObject(name, sizeBytes));
    lifecycle.seal(object);
    return object;
  });
}

const keys = (objects: LocalObject[]) => objects.map((object) => object.key);

Deno.test("LRU: victims come least recently used first; a referenced object leaves and returns at the recent end", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const [a, b] = sealedObjects(parts, ["a", "b", "c"], 64);
    assert.deepEqual(keys(parts.eviction.chooseBySize(Infinity)), ["a", "b", "c"]);
    const reader = new Set<string>();
    parts.lifecycle.addReference(a, reader);
    assert.deepEqual(keys(parts.eviction.chooseBySize(Infinity)), ["b", "c"], "a referenced object is not evictable");
    parts.lifecycle.removeReference(a, reader);
    assert.deepEqual(keys(parts.eviction.chooseBySize(Infinity)), ["b", "c", "a"]);
    parts.eviction.refresh(b);
    assert.deepEqual(
      keys(parts.eviction.chooseBySize(Infinity)),
      ["c", "a", "b"],
      "RefreshLRU moves it to the recent end",
    );
  });
});

Deno.test("LRU: eviction frees at least 20% of the capacity even when less is needed", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    const names = Array.from({ length: 40 }, (_, index) => `o${index}`);
    sealedObjects(parts, names, 1024);
    const victims = parts.eviction.chooseVictims(1, CAPACITY);
    const freed = victims.reduce((sum, object) => sum + object.allocatedBytes, 0);
    const floor = Math.ceil(CAPACITY * EVICTION_FRACTION_MIN);
    assert.ok(freed >= floor, `freed ${freed} of at least ${floor}`);
    assert.ok(freed - 1024 < floor, "stops as soon as the target is reached");
    assert.deepEqual(keys(victims), names.slice(0, victims.length), "oldest first");
  });
});

Deno.test("LRU: eviction frees what is needed when that is more than 20%, or everything it has", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    sealedObjects(parts, Array.from({ length: 40 }, (_, index) => `o${index}`), 1024);
    const needed = CAPACITY / 2;
    const freed = parts.eviction.chooseVictims(needed, CAPACITY).reduce(
      (sum, object) => sum + object.allocatedBytes,
      0,
    );
    assert.equal(freed, needed);
    assert.equal(parts.eviction.chooseVictims(CAPACITY * 10, CAPACITY).length, 40);
  });
});

Deno.test("LRU: with spilling on, primary copies are never evictable and secondary copies are", async () => {
  await withCore({ capacityBytes: CAPACITY, spillingEnabled: true }, (parts) => {
    const primary = mustCreate(parts.lifecycle, newObject("primary", 64));
    const restored = mustCreate(parts.lifecycle, newObject("restored", 64, 1));
    parts.lifecycle.seal(primary);
    parts.lifecycle.seal(restored);
    assert.deepEqual(keys(parts.eviction.chooseBySize(Infinity)), ["restored"]);
  });
});

Deno.test("LRU: Arrow's evict-by-size counts data and metadata bytes until it reaches the request", async () => {
  await withCore({ capacityBytes: CAPACITY }, (parts) => {
    sealedObjects(parts, ["a", "b", "c"], 100);
    assert.deepEqual(keys(parts.eviction.chooseBySize(150)), ["a", "b"]);
    assert.deepEqual(keys(parts.eviction.chooseBySize(0)), []);
  });
});
