/** FlatWriter's buffer: grown for a large message, written correctly across the growth, and not kept after it. */
import assert from "node:assert/strict";
import * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import { FlatWriter } from "./flat_writer.ts";

const BYTES = flatbuffers.Encoding.UTF8_BYTES;

function idsReply(writer: FlatWriter, count: number): Uint8Array {
  const root = writer.begin(2, 12);
  const ids = Array.from({ length: count }, (_, index) => new Uint8Array(20).fill(index & 255));
  writer.byteStrings(root, 0, 4, ids);
  writer.vector(root, 1, 8, 0, 4, 4);
  return writer.finish().slice();
}

Deno.test("a FlatWriter grows for a large message, reads back whole, and drops the large buffer at the next message", () => {
  const writer = new FlatWriter();
  const large = fb.SealReply.getRootAsSealReply(new flatbuffers.ByteBuffer(idsReply(writer, 100_000)));
  assert.equal(large.objectIdsLength(), 100_000);
  assert.deepEqual(large.objectIds(99_999, BYTES), new Uint8Array(20).fill(99_999 & 255));
  assert.ok(writer.capacityBytes > 1024 * 1024, "the writer grew for the large message");
  const small = fb.SealReply.getRootAsSealReply(new flatbuffers.ByteBuffer(idsReply(writer, 1)));
  assert.equal(small.objectIdsLength(), 1);
  assert.ok(writer.capacityBytes <= 64 * 1024, `a small message after it keeps ${writer.capacityBytes} bytes`);
});
