/**
 * Helpers both dialects' decoders share: a verified ByteBuffer, and byte strings (ids, data)
 * read as byte views into the frame (never as UTF-8).
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { type TableLayout, verifyRoot } from "./verifier.ts";

/** Pass to string accessors to get bytes instead of a decoded string. */
export const BYTES = flatbuffers.Encoding.UTF8_BYTES;
const EMPTY = new Uint8Array(0);

/**
 * The one ByteBuffer every decode reads through. flatbuffers' constructor makes a TextDecoder per
 * ByteBuffer, which showed in the store's per-request profile; decoders are synchronous and copy
 * what they keep out of the tables (byte views into the payload, numbers), so one instance,
 * re-pointed at each payload, is never read after the next decode begins.
 */
const sharedBuffer = new flatbuffers.ByteBuffer(EMPTY);

/**
 * Verifies `payload` as a `table` (of `layouts`' schema) and wraps it for the generated readers.
 * The wrapper is valid until the next call: read everything needed from it before decoding again.
 */
export function verifiedBuffer(
  payload: Uint8Array,
  table: string,
  layouts?: Record<string, TableLayout>,
): flatbuffers.ByteBuffer {
  verifyRoot(payload, table, layouts);
  // `bytes_` is the field every accessor reads; the library has no public way to re-point it.
  (sharedBuffer as unknown as { bytes_: Uint8Array }).bytes_ = payload;
  sharedBuffer.setPosition(0);
  return sharedBuffer;
}

/** A string field read with {@linkcode BYTES}: its bytes, or empty when absent. */
export function bytesOf(value: string | Uint8Array | null): Uint8Array {
  return value === null ? EMPTY : value as Uint8Array;
}

/** A vector of strings read with {@linkcode BYTES}, as byte views. */
export function byteStrings(length: number, at: (index: number) => string | Uint8Array | null): Uint8Array[] {
  const result = new Array<Uint8Array>(length);
  for (let index = 0; index < length; index++) result[index] = bytesOf(at(index));
  return result;
}
