/**
 * Verifies an incoming FlatBuffer against its table's layout before any field is read: every
 * offset, vtable, string and vector must lie inside the buffer, nesting is bounded, and the
 * number of tables visited is bounded. The flatbuffers runtime for TypeScript has no verifier,
 * and it reads out-of-range bytes as zeros instead of failing, so peer input goes through here.
 * @module
 */
import { LAYOUTS } from "./generated/layout.ts";

/** One field of a table, in field-id order (generated from the schema). */
export type FieldLayout =
  | { kind: "scalar"; bytes: number }
  | { kind: "string" }
  | { kind: "table"; table: string }
  | {
    kind: "vector";
    element: { kind: "scalar"; bytes: number } | { kind: "string" } | { kind: "table"; table: string };
  };

/** A table's fields in field-id order. */
export type TableLayout = FieldLayout[];

const DEPTH_MAX = 8;
const TABLES_MAX = 1_000_000;

/** Why a buffer was rejected; carries no peer data beyond offsets. */
export class VerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VerificationError";
  }
}

/**
 * One verifier reused for every frame: a DataView per call showed in the store's per-request
 * profile. Frames are views into a connection's read buffer, so the DataView over that buffer is
 * kept until a frame from another buffer comes; positions are relative to the frame's start.
 */
class Verifier {
  #buffer: ArrayBufferLike | null = null;
  #view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  #base = 0;
  #length = 0;
  #layouts: Record<string, TableLayout> = LAYOUTS;
  #tables = 0;

  reset(bytes: Uint8Array, layouts: Record<string, TableLayout>): void {
    if (bytes.buffer !== this.#buffer || this.#view.byteLength !== bytes.buffer.byteLength) {
      this.#buffer = bytes.buffer;
      this.#view = new DataView(bytes.buffer);
    }
    this.#base = bytes.byteOffset;
    this.#length = bytes.byteLength;
    this.#layouts = layouts;
    this.#tables = 0;
  }

  root(table: string): void {
    if (this.#length < 8) throw new VerificationError("buffer too short for a FlatBuffer");
    this.table(this.#offsetTarget(0), table, 0);
  }

  table(position: number, name: string, depth: number): void {
    if (depth > DEPTH_MAX) throw new VerificationError("tables nested too deeply");
    if (++this.#tables > TABLES_MAX) throw new VerificationError("too many tables");
    const layout = this.#layouts[name];
    this.#need(position, 4);
    const vtable = position - this.#view.getInt32(this.#base + position, true);
    this.#need(vtable, 4);
    const vtableBytes = this.#view.getUint16(this.#base + vtable, true);
    const tableBytes = this.#view.getUint16(this.#base + vtable + 2, true);
    if (vtableBytes < 4 || vtableBytes % 2 !== 0) throw new VerificationError(`bad vtable size ${vtableBytes}`);
    this.#need(vtable, vtableBytes);
    this.#need(position, tableBytes);
    for (let id = 0; id < layout.length; id++) {
      const slot = 4 + id * 2;
      if (slot + 2 > vtableBytes) break;
      const fieldOffset = this.#view.getUint16(this.#base + vtable + slot, true);
      if (fieldOffset === 0) continue;
      this.#field(position + fieldOffset, position + tableBytes, layout[id], depth);
    }
  }

  #field(position: number, tableEnd: number, field: FieldLayout, depth: number): void {
    const width = field.kind === "scalar" ? field.bytes : 4;
    if (position + width > tableEnd) throw new VerificationError("field outside its table");
    if (field.kind === "scalar") return;
    const target = this.#offsetTarget(position);
    if (field.kind === "string") return this.#string(target);
    if (field.kind === "table") return this.table(target, field.table, depth + 1);
    this.#vector(target, field.element, depth);
  }

  #vector(position: number, element: FieldLayout, depth: number): void {
    this.#need(position, 4);
    const length = this.#view.getUint32(this.#base + position, true);
    const width = element.kind === "scalar" ? element.bytes : 4;
    this.#need(position + 4, length * width);
    if (element.kind === "scalar") return;
    for (let index = 0; index < length; index++) {
      const target = this.#offsetTarget(position + 4 + index * 4);
      if (element.kind === "string") this.#string(target);
      else if (element.kind === "table") this.table(target, element.table, depth + 1);
    }
  }

  #string(position: number): void {
    this.#need(position, 4);
    const length = this.#view.getUint32(this.#base + position, true);
    this.#need(position + 4, length + 1); // the terminating NUL is part of the encoding
  }

  #offsetTarget(position: number): number {
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

const verifier = new Verifier();

/**
 * Checks that `bytes` is a well-formed FlatBuffer whose root is the table `table` (of our
 * schema, or of the dialect whose `layouts` are given).
 * @throws {VerificationError} when any offset, string or vector leaves the buffer
 */
export function verifyRoot(bytes: Uint8Array, table: string, layouts: Record<string, TableLayout> = LAYOUTS): void {
  if (!(table in layouts)) throw new Error(`unknown table ${table}`);
  verifier.reset(bytes, layouts);
  verifier.root(table);
}
