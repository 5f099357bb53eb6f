/**
 * Reads the root table of a FlatBuffer in place, checking every offset it follows, for the
 * requests a store serves most (create, seal, release, get, contains). The generated readers go
 * through a verifier pass, a ByteBuffer, a table object and a BigInt per 64-bit field; this reads
 * the same fields with one DataView over the connection's buffer and allocates only the id views.
 * Invariant: every byte read lies inside the payload, else {@linkcode VerificationError}; each
 * field read is checked as the verifier checks it (inside its table, strings NUL-terminated).
 * @module
 */
import { VerificationError } from "./verifier.ts";

const EMPTY = new Uint8Array(0);
const TWO_TO_32 = 2 ** 32;
/** High word of the largest size a JS number holds exactly (2^53 - 1). */
const SAFE_HIGH_WORD_MAX = 0x1fffff;

/** One reader per thread, re-pointed at each payload; its views are valid until the next open. */
export class FlatReader {
  #buffer: ArrayBufferLike | null = null;
  #view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  #payload: Uint8Array = EMPTY;
  #base = 0;
  #length = 0;
  #table = 0;
  #tableEnd = 0;
  #vtable = 0;
  #vtableBytes = 0;

  /** Opens `payload`'s root table; `name` only labels errors. */
  open(payload: Uint8Array, name: string): void {
    if (payload.buffer !== this.#buffer || this.#view.byteLength !== payload.buffer.byteLength) {
      this.#buffer = payload.buffer;
      this.#view = new DataView(payload.buffer);
    }
    this.#payload = payload;
    this.#base = payload.byteOffset;
    this.#length = payload.byteLength;
    if (this.#length < 8) throw new VerificationError(`${name}: buffer too short for a FlatBuffer`);
    const table = this.#target(0);
    this.#need(table, 4);
    const vtable = table - this.#view.getInt32(this.#base + table, true);
    this.#need(vtable, 4);
    const vtableBytes = this.#view.getUint16(this.#base + vtable, true);
    const tableBytes = this.#view.getUint16(this.#base + vtable + 2, true);
    if (vtableBytes < 4 || vtableBytes % 2 !== 0) throw new VerificationError(`bad vtable size ${vtableBytes}`);
    this.#need(vtable, vtableBytes);
    this.#need(table, tableBytes);
    this.#table = table;
    this.#tableEnd = table + tableBytes;
    this.#vtable = vtable;
    this.#vtableBytes = vtableBytes;
  }

  /** A bool field (absent: false). */
  bool(field: number): boolean {
    const at = this.#field(field, 1);
    return at !== 0 && this.#view.getUint8(this.#base + at) !== 0;
  }

  /** An int field (absent: 0). */
  int32(field: number): number {
    const at = this.#field(field, 4);
    return at === 0 ? 0 : this.#view.getInt32(this.#base + at, true);
  }

  /** A ulong field as a number (absent: 0); past 2^53 it is no size anyone can allocate. */
  size(field: number, name: string): number {
    const at = this.#field(field, 8);
    if (at === 0) return 0;
    const high = this.#view.getUint32(this.#base + at + 4, true);
    if (high > SAFE_HIGH_WORD_MAX) throw new VerificationError(`bad ${name}: ${high * TWO_TO_32} or more`);
    return high * TWO_TO_32 + this.#view.getUint32(this.#base + at, true);
  }

  /**
   * A long field as the nearest number, as `Number()` of the generated reader's BigInt gives it
   * (absent: 0): high * 2^32 is exact, so the one addition rounds once, to the same double.
   */
  int64(field: number): number {
    const at = this.#field(field, 8);
    if (at === 0) return 0;
    return this.#view.getInt32(this.#base + at + 4, true) * TWO_TO_32 + this.#view.getUint32(this.#base + at, true);
  }

  /** A string (or [ubyte]) field's bytes, a view into the payload (absent: empty). */
  bytes(field: number): Uint8Array {
    const at = this.#field(field, 4);
    return at === 0 ? EMPTY : this.#string(this.#target(at));
  }

  /** A [string] field's items, views into the payload (absent: none). */
  byteStrings(field: number): Uint8Array[] {
    const at = this.#field(field, 4);
    if (at === 0) return [];
    const vector = this.#target(at);
    this.#need(vector, 4);
    const count = this.#view.getUint32(this.#base + vector, true);
    this.#need(vector + 4, count * 4);
    const items = new Array<Uint8Array>(count);
    for (let index = 0; index < count; index++) items[index] = this.#string(this.#target(vector + 4 + index * 4));
    return items;
  }

  /** Where a present field's value is (checked to lie inside its table), or 0 when absent. */
  #field(field: number, width: number): number {
    const slot = 4 + field * 2;
    if (slot + 2 > this.#vtableBytes) return 0;
    const offset = this.#view.getUint16(this.#base + this.#vtable + slot, true);
    if (offset === 0) return 0;
    const at = this.#table + offset;
    if (at + width > this.#tableEnd) throw new VerificationError("field outside its table");
    return at;
  }

  #string(position: number): Uint8Array {
    this.#need(position, 4);
    const length = this.#view.getUint32(this.#base + position, true);
    this.#need(position + 4, length + 1); // the terminating NUL is part of the encoding
    return this.#payload.subarray(position + 4, position + 4 + length);
  }

  /** The position a uoffset at `position` points to. */
  #target(position: number): number {
    this.#need(position, 4);
    const target = position + this.#view.getUint32(this.#base + position, true);
    this.#need(target, 0);
    return target;
  }

  #need(position: number, bytes: number): void {
    if (position < 0 || bytes < 0 || position + bytes > this.#length) {
      throw new VerificationError(`offset ${position}+${bytes} outside the ${this.#length}-byte buffer`);
    }
  }
}
