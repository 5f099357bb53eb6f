import assert from "node:assert/strict";
import { RegionAllocator } from "./region_allocator.ts";
import { NativeError } from "./status.ts";

Deno.test("the allocator hands out aligned, disjoint offsets and takes them back", () => {
  using allocator = new RegionAllocator(1 << 20, 1024);
  const a = allocator.alloc(100)!;
  const b = allocator.alloc(1000)!;
  assert.equal(a % 64, 0);
  assert.equal(b % 64, 0);
  assert.ok(a + 128 <= b || b + 1024 <= a, "blocks overlap");
  assert.equal(allocator.stats().allocatedBytes, 128 + 1024);
  allocator.free(a);
  allocator.free(b);
  assert.deepEqual(allocator.stats(), {
    capacityBytes: 1 << 20,
    allocatedBytes: 0,
    largestFreeBlockBytes: 1 << 20,
    liveBlocks: 0,
  });
});

Deno.test("alloc returns null when full and a bad free throws invalid_offset", () => {
  using allocator = new RegionAllocator(64 * 1024, 1024);
  const whole = allocator.alloc(64 * 1024);
  assert.equal(whole, 0);
  assert.equal(allocator.alloc(64), null);
  assert.throws(() => allocator.free(64), (e: unknown) => e instanceof NativeError && e.status === "invalid_offset");
  allocator.free(0);
  assert.throws(() => allocator.free(0), (e: unknown) => e instanceof NativeError && e.status === "invalid_offset");
});
