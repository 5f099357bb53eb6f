/**
 * Reads the root table of a FlatBuffer in place, checking every offset it follows, for the
 * requests a store serves most (create, seal, release, get, contains). The generated readers go
 * through a verifier pass, a ByteBuffer, a table object and a BigInt per 64-bit field; this reads
 * the same fields with one DataView over the connection's buffer and allocates only the id views.
 * Invariant: every byte read lies inside the payload, else {@linkcode VerificationError}; each
 * field read is checked as the verifier checks it (inside its table, strings NUL-terminated).
 * @module
 */
import { FrameView, VerificationError } from "./frame_view.ts";

const EMPTY = new Uint8Array(0);
const TWO_TO_32 = 2 ** 32;
/** High word of the largest size a JS number holds exactly (2^53 - 1). */
const SAFE_HIGH_WORD_MAX = 0x1fffff;

/** One reader per thread, re-pointed at each payload; its views are valid until the next open. */
export class FlatReader {
  readonly #frame = new FrameView();
  #payload: Uint8Array = EMPTY;
  #table = 0;
  #tableEnd = 0;
  #vtable = 0;
  #vtableBytes = 0;

  /** Opens `payload`'s root table; `name` only labels errors. */
  open(payload: Uint8Array, name: string): void {
    const frame = this.#frame;
    frame.point(payload);
    this.#payload = payload;
    if (frame.length < 8) throw new VerificationError(`${name}: buffer too short for a FlatBuffer`);
    const table = frame.target(0);
    const vtable = frame.vtableOf(table);
    this.#table = table;
    this.#tableEnd = table + frame.uint16(vtable + 2);
    this.#vtable = vtable;
    this.#vtableBytes = frame.uint16(vtable);
  }

  /** A bool field (absent: false). */
  bool(field: number): boolean {
    const at = this.#field(field, 1);
    return at !== 0 && this.#frame.uint8(at) !== 0;
  }

  /** An int field (absent: 0). */
  int32(field: number): number {
    const at = this.#field(field, 4);
    return at === 0 ? 0 : this.#frame.int32(at);
  }

  /** A ulong field as a number (absent: 0); past 2^53 it is no size anyone can allocate. */
  size(field: number, name: string): number {
    const at = this.#field(field, 8);
    if (at === 0) return 0;
    const high = this.#frame.uint32(at + 4);
    if (high > SAFE_HIGH_WORD_MAX) throw new VerificationError(`bad ${name}: ${high * TWO_TO_32} or more`);
    return high * TWO_TO_32 + this.#frame.uint32(at);
  }

  /**
   * A long field as the nearest number, as `Number()` of the generated reader's BigInt gives it
   * (absent: 0): high * 2^32 is exact, so the one addition rounds once, to the same double.
   */
  int64(field: number): number {
    const at = this.#field(field, 8);
    return at === 0 ? 0 : this.#frame.int32(at + 4) * TWO_TO_32 + this.#frame.uint32(at);
  }

  /** A string (or [ubyte]) field's bytes, a view into the payload (absent: empty). */
  bytes(field: number): Uint8Array {
    const at = this.#field(field, 4);
    return at === 0 ? EMPTY : this.#string(this.#frame.target(at));
  }

  /** A [string] field's items, views into the payload (absent: none). */
  byteStrings(field: number): Uint8Array[] {
    const at = this.#field(field, 4);
    if (at === 0) return [];
    const frame = this.#frame;
    const vector = frame.target(at);
    frame.need(vector, 4);
    const count = frame.uint32(vector);
    frame.need(vector + 4, count * 4);
    const items = new Array<Uint8Array>(count);
    for (let index = 0; index < count; index++) items[index] = this.#string(frame.target(vector + 4 + index * 4));
    return items;
  }

  /** Where a present field's value is (checked to lie inside its table), or 0 when absent. */
  #field(field: number, width: number): number {
    const slot = 4 + field * 2;
    if (slot + 2 > this.#vtableBytes) return 0;
    const offset = this.#frame.uint16(this.#vtable + slot);
    if (offset === 0) return 0;
    const at = this.#table + offset;
    if (at + width > this.#tableEnd) throw new VerificationError("field outside its table");
    return at;
  }

  #string(position: number): Uint8Array {
    this.#frame.need(position, 4);
    const length = this.#frame.uint32(position);
    this.#frame.need(position + 4, length + 1); // the terminating NUL is part of the encoding
    return this.#payload.subarray(position + 4, position + 4 + length);
  }
}
