/**
 * The reply-size bound the Arrow handlers derive their id limit from holds for the encoder's
 * real output: per-id growth and the fixed part stay within ARROW_REPLY_BYTES_PER_ID_MAX and
 * ARROW_REPLY_FIXED_BYTES_MAX.
 */
import assert from "node:assert/strict";
import { encodeDeleteReply, encodeGetReply } from "./encode.ts";
import {
  ARROW_ID_BYTES,
  ARROW_REPLY_BYTES_PER_ID_MAX,
  ARROW_REPLY_FIXED_BYTES_MAX,
  ArrowErrorCode,
} from "./messages.ts";

function ids(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, index) => new Uint8Array(ARROW_ID_BYTES).fill(index & 0xff));
}

function getReplyBytes(count: number): number {
  const spec = { segmentIndex: 1, dataOffset: 1 << 30, dataSize: 1 << 20, metadataOffset: 1 << 30, metadataSize: 8 };
  const segments = Array.from({ length: 16 }, (_, index) => ({ segmentIndex: index, mmapSize: 1 << 30 }));
  return encodeGetReply({ objectIds: ids(count), specs: Array(count).fill(spec), segments }).length;
}

Deno.test("an Arrow GetReply grows by at most ARROW_REPLY_BYTES_PER_ID_MAX per id and starts within the fixed allowance", () => {
  const perId = (getReplyBytes(2_000) - getReplyBytes(1_000)) / 1_000;
  assert.ok(perId <= ARROW_REPLY_BYTES_PER_ID_MAX, `${perId} bytes per id`);
  assert.ok(perId > ARROW_REPLY_BYTES_PER_ID_MAX - 8, `the bound is tight: ${perId} bytes per id`);
  assert.ok(getReplyBytes(1_000) <= ARROW_REPLY_FIXED_BYTES_MAX + 1_000 * ARROW_REPLY_BYTES_PER_ID_MAX);
});

Deno.test("an Arrow DeleteReply stays within the same per-id bound", () => {
  const bytes = (count: number) => encodeDeleteReply(ids(count), Array(count).fill(ArrowErrorCode.ObjectInUse)).length;
  assert.ok(bytes(1_000) <= ARROW_REPLY_FIXED_BYTES_MAX + 1_000 * ARROW_REPLY_BYTES_PER_ID_MAX);
  assert.ok((bytes(2_000) - bytes(1_000)) / 1_000 <= ARROW_REPLY_BYTES_PER_ID_MAX);
});
