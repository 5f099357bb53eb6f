import assert from "node:assert/strict";
import { ErrorCode } from "../protocol/messages.ts";
import { mustCreate, newObject, withCore } from "./_core_fixture.ts";

const CAPACITY = 64 * 1024;

Deno.test("lifecycle: create, seal and release move an object through its states and refcounts", async () => {
  await withCore({ capacityBytes: CAPACITY }, ({ lifecycle, memory, notes }) => {
    const creator = new Set<string>();
    const object = mustCreate(lifecycle, newObject("a", 100));
    assert.equal(lifecycle.create(newObject("a", 100)), ErrorCode.ObjectExists);
    assert.equal(lifecycle.addReference(object, creator), true);
    assert.equal(lifecycle.addReference(object, creator), false, "one reference per holder");
    assert.equal(object.refCount, 1);
    assert.equal(object.sealed, false);
    lifecycle.seal(object);
    assert.equal(object.sealed, true);
    assert.throws(() => lifecycle.seal(object), /sealing a sealed object/);
    const reader = new Set<string>();
    lifecycle.addReference(object, reader);
    assert.equal(object.refCount, 2);
    assert.equal(lifecycle.removeReference(object, creator), true);
    assert.equal(lifecycle.removeReference(object, creator), false, "a holder releases once");
    assert.equal(lifecycle.removeReference(object, reader), true);
    assert.equal(object.refCount, 0);
    assert.ok(lifecycle.get("a")?.is(object), "a released object stays until deleted or evicted");
    assert.deepEqual(notes, [{ sealed: "a" }]);
    assert.equal(memory.stats().allocatedBytes, 128, "100 bytes take two 64-byte units");
  });
});

Deno.test("lifecycle: delete of an unsealed or referenced object is refused now and happens once it is free", async () => {
  await withCore({ capacityBytes: CAPACITY }, ({ lifecycle, memory, notes }) => {
    const creator = new Set<string>();
    const object = mustCreate(lifecycle, newObject("b", 10));
    lifecycle.addReference(object, creator);
    assert.equal(lifecycle.delete(object), ErrorCode.ObjectNotSealed);
    lifecycle.seal(object);
    assert.ok(lifecycle.get("b")?.is(object), "still referenced by its creator");
    assert.equal(lifecycle.delete(object), ErrorCode.ObjectInUse);
    lifecycle.removeReference(object, creator);
    assert.equal(lifecycle.get("b"), undefined, "deleted as soon as it was released");
    assert.equal(memory.stats().allocatedBytes, 0);
    assert.deepEqual(notes, [{ sealed: "b" }, { deleted: "b" }, "memoryFreed"]);
  });
});

Deno.test("lifecycle: abort frees an unsealed object without announcing a deletion; sealed objects cannot be aborted", async () => {
  await withCore({ capacityBytes: CAPACITY }, ({ lifecycle, memory, notes }) => {
    const creator = new Set<string>();
    const object = mustCreate(lifecycle, newObject("c", 10));
    lifecycle.addReference(object, creator);
    lifecycle.abort(object, creator);
    assert.equal(lifecycle.get("c"), undefined);
    assert.equal(creator.size, 0);
    assert.equal(memory.stats().allocatedBytes, 0);
    assert.deepEqual(notes, ["memoryFreed"]);
    const sealed = mustCreate(lifecycle, newObject("d", 10));
    lifecycle.seal(sealed);
    assert.throws(() => lifecycle.abort(sealed, new Set()), /aborting a sealed object/);
  });
});

Deno.test("lifecycle: create fails with OutOfMemory when no block fits, and only evictable objects can be evicted", async () => {
  await withCore({ capacityBytes: 1024 }, ({ lifecycle }) => {
    const holder = new Set<string>();
    const big = mustCreate(lifecycle, newObject("big", 1000));
    assert.equal(lifecycle.create(newObject("more", 100)), ErrorCode.OutOfMemory);
    lifecycle.addReference(big, holder);
    lifecycle.seal(big);
    assert.throws(() => lifecycle.evict(big), /not evictable/);
    lifecycle.removeReference(big, holder);
    lifecycle.evict(big);
    assert.equal(lifecycle.get("big"), undefined);
    mustCreate(lifecycle, newObject("more", 100));
  });
});

Deno.test("lifecycle: a spilled object's memory is dropped without a deleted event, only when unreferenced", async () => {
  await withCore({ capacityBytes: CAPACITY, spillingEnabled: true }, ({ lifecycle, notes }) => {
    const holder = new Set<string>();
    const object = mustCreate(lifecycle, newObject("s", 10));
    lifecycle.addReference(object, holder);
    lifecycle.seal(object);
    assert.throws(() => lifecycle.dropSpilled(object), /not spillable/);
    lifecycle.removeReference(object, holder);
    lifecycle.dropSpilled(object);
    assert.deepEqual(notes, [{ sealed: "s" }, "memoryFreed"]);
  });
});
