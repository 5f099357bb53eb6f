/**
 * Writes a FlatBuffer front to back into a reused buffer, for the replies and requests of every
 * object's life (create, seal, get, release, contains). flatbuffers' Builder writes back to
 * front through a vtable array, vtable deduplication and a BigInt per 64-bit field, which showed
 * in the store's per-request profile; these messages have a fixed shape, so their layout is laid
 * down directly: the root offset, the root table's vtable and inline fields, then strings,
 * vectors and sub-tables in the order they are added (each sub-table: its vtable, then itself).
 * A table is named by its position; its fields go at inline offsets the caller chooses, aligned
 * to each field's size. Invariants: every scalar is aligned to its size from the buffer's start,
 * as FlatBuffers requires; every uoffset points forward (its target is appended after it).
 * @module
 */

const TWO_TO_32 = 2 ** 32;
const BYTES_INITIAL = 4096;
/** A buffer grown past this for one large message (a get of many ids) is dropped at the next begin(). */
const BYTES_RETAINED_MAX = 1024 * 1024;
/** Tables start 8-aligned, so fields placed at aligned offsets within them stay aligned. */
const TABLE_ALIGNMENT = 8;
const ENCODER = new TextEncoder();

/** One writer per thread; each finish() returns a view valid until the next begin(). */
export class FlatWriter {
  #bytes = new Uint8Array(BYTES_INITIAL);
  #view = new DataView(this.#bytes.buffer);
  #end = 0;

  /**
   * Starts a buffer whose root table has `fieldCount` fields and `inlineBytes` of inline data
   * (the 4-byte vtable offset included); returns the root table.
   */
  begin(fieldCount: number, inlineBytes: number): number {
    if (this.#bytes.length > BYTES_RETAINED_MAX) this.#replace(new Uint8Array(BYTES_INITIAL));
    this.#end = 4;
    const root = this.table(fieldCount, inlineBytes);
    this.#view.setUint32(0, root, true);
    return root;
  }

  /** Appends a table (its vtable first), all fields absent; returns it. Link it with {@linkcode link}. */
  table(fieldCount: number, inlineBytes: number): number {
    const vtable = align(this.#end, 2);
    const vtableBytes = 4 + fieldCount * 2;
    const table = align(vtable + vtableBytes, TABLE_ALIGNMENT);
    const end = table + inlineBytes;
    this.#reserve(end);
    this.#bytes.fill(0, this.#end, end);
    this.#view.setUint16(vtable, vtableBytes, true);
    this.#view.setUint16(vtable + 2, inlineBytes, true);
    this.#view.setInt32(table, table - vtable, true);
    this.#end = end;
    return table;
  }

  bool(table: number, field: number, offset: number, value: boolean): void {
    this.#view.setUint8(this.#inline(table, field, offset), value ? 1 : 0);
  }

  int32(table: number, field: number, offset: number, value: number): void {
    this.#view.setInt32(this.#inline(table, field, offset), value, true);
  }

  /** A long/ulong from a JS number (exact up to 2^53; negative as two's complement). */
  int64(table: number, field: number, offset: number, value: number): void {
    this.int64At(this.#inline(table, field, offset), value);
  }

  /** A struct stored inline: returns its position, for {@linkcode int32At}/{@linkcode int64At}. */
  struct(table: number, field: number, offset: number): number {
    return this.#inline(table, field, offset);
  }

  int32At(position: number, value: number): void {
    this.#view.setInt32(position, value, true);
  }

  int64At(position: number, value: number): void {
    const high = Math.floor(value / TWO_TO_32);
    this.#view.setInt32(position, (value - high * TWO_TO_32) | 0, true);
    this.#view.setInt32(position + 4, high | 0, true);
  }

  /** A string (or [ubyte]) field holding `bytes`. */
  bytes(table: number, field: number, offset: number, bytes: Uint8Array): void {
    this.#pointTo(this.#inline(table, field, offset), this.#appendString(bytes));
  }

  /** A string field holding `text` as UTF-8. */
  string(table: number, field: number, offset: number, text: string): void {
    this.bytes(table, field, offset, ENCODER.encode(text));
  }

  /** A [string] field. */
  byteStrings(table: number, field: number, offset: number, items: readonly Uint8Array[]): void {
    const vector = this.#appendVector(items.length, 4, 4);
    this.#pointTo(this.#inline(table, field, offset), vector);
    for (let index = 0; index < items.length; index++) {
      this.#pointTo(vector + 4 + index * 4, this.#appendString(items[index]));
    }
  }

  /**
   * A vector of `count` elements of `elementBytes` each, aligned to `alignment`, zero-filled:
   * returns the first element's position, for the caller to write the elements (a vector of
   * tables: append each with {@linkcode table}, then {@linkcode pointAt} its element to it).
   */
  vector(table: number, field: number, offset: number, count: number, elementBytes: number, alignment: number): number {
    const vector = this.#appendVector(count, elementBytes, alignment);
    this.#pointTo(this.#inline(table, field, offset), vector);
    return vector + 4;
  }

  /** A table field pointing to `target` (a table appended after `table`). */
  link(table: number, field: number, offset: number, target: number): void {
    this.#pointTo(this.#inline(table, field, offset), target);
  }

  /** Points the uoffset at `position` (a vector element) to `target`. */
  pointAt(position: number, target: number): void {
    this.#pointTo(position, target);
  }

  /** The finished buffer: a view valid until the next begin(). */
  finish(): Uint8Array {
    return this.#bytes.subarray(0, this.#end);
  }

  /** Marks `field` present at `offset` in `table`; returns its absolute position. */
  #inline(table: number, field: number, offset: number): number {
    const vtable = table - this.#view.getInt32(table, true);
    this.#view.setUint16(vtable + 4 + field * 2, offset, true);
    return table + offset;
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

  /** Bytes the writer holds between messages (for tests: a large message's buffer is not kept). */
  get capacityBytes(): number {
    return this.#bytes.length;
  }

  #reserve(bytes: number): void {
    if (bytes <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(bytes, this.#bytes.length * 2));
    grown.set(this.#bytes.subarray(0, this.#end));
    this.#replace(grown);
  }

  #replace(bytes: Uint8Array<ArrayBuffer>): void {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer);
  }
}

function align(position: number, alignment: number): number {
  return Math.ceil(position / alignment) * alignment;
}
