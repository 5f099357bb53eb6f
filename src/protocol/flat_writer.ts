/**
 * Writes a one-table FlatBuffer front to back into a reused buffer, for the replies a store sends
 * most (create, seal, get, contains). flatbuffers' Builder writes back to front through a
 * vtable array, vtable deduplication and a BigInt per 64-bit field, which showed in the store's
 * per-request profile; these replies have a fixed shape, so their layout is laid down directly.
 * Layout: the root offset, the vtable, the table's inline fields (positions the caller chooses,
 * aligned to each field's size), then strings and vectors in the order they are added.
 * Invariant: every scalar is aligned to its size from the buffer's start, as FlatBuffers requires.
 * @module
 */

const TWO_TO_32 = 2 ** 32;
const BYTES_INITIAL = 4096;
/** The table starts 8-aligned, so fields placed at aligned positions within it stay aligned. */
const TABLE_ALIGNMENT = 8;

/** One writer per thread; each finish() returns a view valid until the next begin(). */
export class FlatWriter {
  #bytes = new Uint8Array(BYTES_INITIAL);
  #view = new DataView(this.#bytes.buffer);
  #table = 0;
  #end = 0;

  /**
   * Starts a buffer whose root table has `fieldCount` fields and `inlineBytes` of inline data
   * (the 4-byte vtable offset included): fields are then placed at offsets in [4, inlineBytes).
   */
  begin(fieldCount: number, inlineBytes: number): void {
    const vtableBytes = 4 + fieldCount * 2;
    this.#table = align(4 + vtableBytes, TABLE_ALIGNMENT);
    this.#end = this.#table + inlineBytes;
    this.#reserve(this.#end);
    this.#bytes.fill(0, 0, this.#end);
    this.#view.setUint32(0, this.#table, true);
    this.#view.setUint16(4, vtableBytes, true);
    this.#view.setUint16(6, inlineBytes, true);
    this.#view.setInt32(this.#table, this.#table - 4, true); // the vtable sits right after the root offset
  }

  int32(field: number, offset: number, value: number): void {
    this.#view.setInt32(this.#inline(field, offset), value, true);
  }

  /** A long/ulong from a JS number (exact up to 2^53; negative as two's complement). */
  int64(field: number, offset: number, value: number): void {
    this.#int64At(this.#inline(field, offset), value);
  }

  /** A struct stored inline: returns its position, for {@linkcode int32At}/{@linkcode int64At}. */
  struct(field: number, offset: number): number {
    return this.#inline(field, offset);
  }

  int32At(position: number, value: number): void {
    this.#view.setInt32(position, value, true);
  }

  int64At(position: number, value: number): void {
    this.#int64At(position, value);
  }

  /** A string (or [ubyte]) field holding `bytes`. */
  bytes(field: number, offset: number, bytes: Uint8Array): void {
    this.#pointTo(this.#inline(field, offset), this.#appendString(bytes));
  }

  /** A [string] field. */
  byteStrings(field: number, offset: number, items: readonly Uint8Array[]): void {
    const vector = this.#appendVector(items.length, 4, 4);
    this.#pointTo(this.#inline(field, offset), vector);
    for (let index = 0; index < items.length; index++) {
      this.#pointTo(vector + 4 + index * 4, this.#appendString(items[index]));
    }
  }

  /**
   * A vector of `count` elements of `elementBytes` each, aligned to `alignment`, zero-filled:
   * returns the first element's position, for the caller to write the elements.
   */
  vector(field: number, offset: number, count: number, elementBytes: number, alignment: number): number {
    const vector = this.#appendVector(count, elementBytes, alignment);
    this.#pointTo(this.#inline(field, offset), vector);
    return vector + 4;
  }

  /** The finished buffer: a view valid until the next begin(). */
  finish(): Uint8Array {
    return this.#bytes.subarray(0, this.#end);
  }

  /** Marks `field` present at `offset` in the table; returns its absolute position. */
  #inline(field: number, offset: number): number {
    this.#view.setUint16(8 + field * 2, offset, true);
    return this.#table + offset;
  }

  #int64At(position: number, value: number): void {
    const high = Math.floor(value / TWO_TO_32);
    this.#view.setInt32(position, (value - high * TWO_TO_32) | 0, true);
    this.#view.setInt32(position + 4, high | 0, true);
  }

  #pointTo(position: number, target: number): void {
    this.#view.setUint32(position, target - position, true);
  }

  #appendString(bytes: Uint8Array): number {
    const start = align(this.#end, 4);
    const end = start + 4 + bytes.length + 1;
    this.#reserve(end);
    this.#bytes.fill(0, this.#end, end);
    this.#view.setUint32(start, bytes.length, true);
    this.#bytes.set(bytes, start + 4);
    this.#end = end;
    return start;
  }

  /** A vector's length word placed so that its elements start `alignment`-aligned. */
  #appendVector(count: number, elementBytes: number, alignment: number): number {
    const start = align(this.#end + 4, Math.max(4, alignment)) - 4;
    const end = start + 4 + count * elementBytes;
    this.#reserve(end);
    this.#bytes.fill(0, this.#end, end);
    this.#view.setUint32(start, count, true);
    this.#end = end;
    return start;
  }

  #reserve(bytes: number): void {
    if (bytes <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(bytes, this.#bytes.length * 2));
    grown.set(this.#bytes.subarray(0, this.#end));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }
}

function align(position: number, alignment: number): number {
  return Math.ceil(position / alignment) * alignment;
}
