/**
 * Arrow's ObjectSpec struct written from JS numbers. flatbuffers' generated `createObjectSpec`
 * takes BigInts and its writeInt64 makes several more per field, which showed in the store's
 * per-request profile (create and get replies carry one spec per object). Invariant: the bytes
 * equal the generated writer's for every value (checked by _object_spec_test.ts).
 * @module
 */
import type * as flatbuffers from "flatbuffers";
import type { ArrowObjectSpec } from "./messages.ts";

const TWO_TO_32 = 2 ** 32;
/** ObjectSpec's size and alignment (five 8-byte slots and two int32 with padding). */
const SPEC_BYTES = 48;
const SPEC_ALIGNMENT = 8;

/** The spec of an object that is not there. */
export const MISSING_SPEC: ArrowObjectSpec = {
  segmentIndex: -1,
  dataOffset: 0,
  dataSize: 0,
  metadataOffset: 0,
  metadataSize: 0,
};

/**
 * An int64 from a JS number (exact up to 2^53; negative as two's complement) as two int32 words.
 * The builder writes downwards, so the high word goes first and lands above the low one.
 */
function writeInt64(builder: flatbuffers.Builder, value: number): void {
  const high = Math.floor(value / TWO_TO_32);
  builder.writeInt32(high | 0);
  builder.writeInt32((value - high * TWO_TO_32) | 0);
}

/** Writes the struct in the generated field order (device_num 0: no CUDA); returns its offset. */
export function writeObjectSpec(builder: flatbuffers.Builder, spec: ArrowObjectSpec): flatbuffers.Offset {
  builder.prep(SPEC_ALIGNMENT, SPEC_BYTES);
  builder.pad(4);
  builder.writeInt32(0);
  writeInt64(builder, spec.metadataSize);
  writeInt64(builder, spec.metadataOffset);
  writeInt64(builder, spec.dataSize);
  writeInt64(builder, spec.dataOffset);
  builder.pad(4);
  builder.writeInt32(spec.segmentIndex);
  return builder.offset();
}
