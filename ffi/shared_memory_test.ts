import assert from "node:assert/strict";
import { filesystemSpace, lookupAddress, SharedMemoryChunk } from "./shared_memory.ts";
import { NativeError } from "./status.ts";

Deno.test("a memfd chunk is writable through its view and found by address", () => {
  using chunk = SharedMemoryChunk.create(1 << 20, { populate: true });
  const bytes = chunk.bytes();
  assert.equal(bytes.length, 1 << 20);
  bytes[12345] = 99;
  assert.equal(chunk.bytes()[12345], 99);
  assert.deepEqual(lookupAddress(chunk.address + 12345n), { fd: chunk.fd, offset: 12345 });
});

Deno.test("a second mapping of the same fd sees the first one's writes", () => {
  using first = SharedMemoryChunk.create(64 * 1024);
  using second = SharedMemoryChunk.map(first.fd, 64 * 1024, { populate: true });
  first.bytes().fill(7, 100, 200);
  assert.equal(second.bytes()[150], 7);
  assert.notEqual(first.address, second.address);
});

Deno.test("closing a chunk detaches its views and forgets its address", () => {
  const chunk = SharedMemoryChunk.create(4096);
  const view = chunk.bytes();
  const address = chunk.address;
  chunk.close();
  assert.equal(view.length, 0);
  assert.equal(view[0], undefined);
  assert.equal(lookupAddress(address), null);
  assert.throws(() => chunk.bytes(), /unmapped/);
  chunk.close();
});

Deno.test("a file chunk is fallocated in the directory asked for", () => {
  const directory = Deno.makeTempDirSync();
  try {
    using chunk = SharedMemoryChunk.create(1 << 20, { kind: "file", directory, fallocate: true });
    chunk.bytes()[0] = 1;
    assert.deepEqual([...Deno.readDirSync(directory)], [], "the file is unlinked");
  } finally {
    Deno.removeSync(directory, { recursive: true });
  }
});

Deno.test("a file chunk in a missing directory fails with not_found", () => {
  assert.throws(
    () => SharedMemoryChunk.create(4096, { kind: "file", directory: "/nonexistent/plasma" }),
    (error: unknown) => error instanceof NativeError && error.status === "not_found",
  );
});

Deno.test("a file chunk larger than its filesystem fails at creation with no_space", () => {
  const space = filesystemSpace("/tmp");
  assert.ok(space.totalBytes > 0 && space.freeBytes <= space.totalBytes);
  assert.throws(
    () => SharedMemoryChunk.create(space.totalBytes + (1 << 30), { kind: "file", directory: "/tmp", fallocate: true }),
    (error: unknown) =>
      error instanceof NativeError && (error.status === "no_space" || error.status === "file_too_big"),
  );
});

Deno.test("sizes that are not positive integers are refused before any native call", () => {
  assert.throws(() => SharedMemoryChunk.create(0), RangeError);
  assert.throws(() => SharedMemoryChunk.create(1.5), RangeError);
});
