import assert from "node:assert/strict";
import { FrameConnection } from "./frame_connection.ts";
import { SharedMemoryChunk } from "./shared_memory.ts";
import { Status } from "./status.ts";
import { socketPair } from "./unix_socket.ts";
import { writeRaw } from "../tests/fixtures/raw_write.ts";

const COOKIE = 0x5241590000000000n;

function pair(payloadBytesMax = 1024): [FrameConnection, FrameConnection] {
  const [a, b] = socketPair();
  return [FrameConnection.adopt(a, { payloadBytesMax }), FrameConnection.adopt(b, { payloadBytesMax })];
}

Deno.test("a frame is read whole with its cookie, type and payload", () => {
  const [left, right] = pair();
  using _l = left, _r = right;
  assert.equal(left.write(COOKIE, 8, new TextEncoder().encode("get me")), Status.ok);
  assert.equal(right.read(0), Status.ok);
  assert.equal(right.type, 8);
  assert.ok(right.cookieIs(0, 0x52415900));
  assert.equal(new TextDecoder().decode(right.payload()), "get me");
  assert.equal(right.read(0), Status.would_block);
  assert.equal(right.read(5), Status.timed_out);
});

Deno.test("a payload larger than the reader's buffer grows it", () => {
  const [left, right] = pair(1 << 20);
  using _l = left, _r = right;
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  // One thread plays both ends: write what the socket takes, then alternate flush and read.
  assert.equal(left.write(COOKIE, 1, big, 0), Status.queued);
  const queued = left.queuedBytes();
  assert.ok(queued > 0 && queued < big.length + 24, `queued ${queued}`);
  assert.equal(queued, left.counters().queuedBytes);
  let status = right.read(0);
  while (status === Status.would_block) {
    left.flush(0);
    status = right.read(0);
  }
  assert.equal(status, Status.ok);
  assert.deepEqual(right.payload(), big);
  assert.equal(left.counters().queuedBytes, 0);
  assert.equal(left.queuedBytes(), 0);
});

Deno.test("a frame larger than the limit is refused on both ends", () => {
  const [left, right] = pair(16);
  using _l = left, _r = right;
  assert.equal(left.write(COOKIE, 1, new Uint8Array(17)), Status.frame_too_large);
  const [a, b] = socketPair();
  using writer = FrameConnection.adopt(a, { payloadBytesMax: 1 << 30 });
  using reader = FrameConnection.adopt(b, { payloadBytesMax: 16 });
  assert.equal(writer.write(COOKIE, 1, new Uint8Array(32)), Status.ok);
  assert.equal(reader.read(-1), Status.frame_too_large);
  assert.equal(reader.read(0), Status.frame_too_large, "the stream stays failed");
});

Deno.test("a peer that closes mid-frame is reported as disconnected", () => {
  const [a, b] = socketPair();
  using reader = FrameConnection.adopt(b, { payloadBytesMax: 1024 });
  const writer = FrameConnection.adopt(a, { payloadBytesMax: 1024 });
  // A whole frame, then a header that announces 100 bytes followed by only 10 of them.
  assert.equal(writer.write(COOKIE, 1, new Uint8Array(10)), Status.ok);
  const partial = new Uint8Array(34);
  const view = new DataView(partial.buffer);
  view.setBigUint64(0, COOKIE, true);
  view.setBigInt64(16, 100n, true);
  writeRaw(writer.fd, partial);
  writer.close();
  assert.equal(reader.read(-1), Status.ok, "the complete frame arrives");
  assert.equal(reader.read(-1), Status.peer_closed);
});

Deno.test("an fd sent after a reply maps the same memory on the other end", () => {
  const [left, right] = pair();
  using _l = left, _r = right;
  using chunk = SharedMemoryChunk.create(8192);
  chunk.bytes().set([1, 2, 3], 4000);
  assert.equal(left.write(COOKIE, 3, new Uint8Array([42])), Status.ok);
  assert.equal(left.sendFd(chunk.fd), Status.ok);
  assert.equal(right.read(-1), Status.ok);
  const fd = right.takeFd(-1);
  using mapped = SharedMemoryChunk.map(fd, 8192, { adopt: true });
  assert.deepEqual([...mapped.bytes().subarray(4000, 4003)], [1, 2, 3]);
});

Deno.test("queued frames wait for flush and then arrive in order", () => {
  const [left, right] = pair();
  using _l = left, _r = right;
  for (let index = 0; index < 16; index++) assert.equal(left.queue(COOKIE, index, new Uint8Array([index])), Status.ok);
  assert.equal(right.read(0), Status.would_block);
  assert.equal(left.flush(-1), Status.ok);
  for (let index = 0; index < 16; index++) {
    assert.equal(right.read(0), Status.ok);
    assert.deepEqual([right.type, right.payload()[0]], [index, index]);
  }
});

Deno.test("closing a connection twice is safe and later use throws", () => {
  const [left, right] = pair();
  right.close();
  left.close();
  left.close();
  assert.throws(() => left.read(0), /closed connection/);
});

Deno.test("readNext serves the frames of a burst and leaves a socket found empty to the poller", () => {
  const [left, right] = pair();
  using _l = left, _r = right;
  const bytes = (text: string) => new TextEncoder().encode(text);
  assert.equal(left.write(COOKIE, 1, bytes("one")), Status.ok);
  assert.equal(left.write(COOKIE, 2, bytes("two")), Status.ok);
  assert.equal(right.read(0), Status.ok);
  assert.equal(right.readNext(), Status.ok, "the second frame came with the first receive");
  assert.deepEqual(right.payload(), bytes("two"));
  assert.equal(left.write(COOKIE, 3, bytes("three")), Status.ok);
  assert.equal(right.readNext(), Status.would_block, "the socket was found empty: not asked again");
  assert.equal(right.read(0), Status.ok, "a plain read (after the poller's event) receives it");
  assert.deepEqual(right.payload(), bytes("three"));
  assert.equal(right.readNext(), Status.would_block);
});
