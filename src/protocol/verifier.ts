/**
 * Verifies an incoming FlatBuffer against its table's layout before any field is read: every
 * offset, vtable, string and vector must lie inside the buffer, nesting is bounded, and the
 * number of tables visited is bounded. The flatbuffers runtime for TypeScript has no verifier,
 * and it reads out-of-range bytes as zeros instead of failing, so peer input goes through here.
 * @module
 */
import { LAYOUTS } from "./generated/layout.ts";
import { FrameView, VerificationError } from "./frame_view.ts";

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

export { VerificationError };

/** One verifier reused for every frame (positions relative to the frame's start). */
class Verifier {
  readonly #frame = new FrameView();
  #layouts: Record<string, TableLayout> = LAYOUTS;
  #tables = 0;

  reset(bytes: Uint8Array, layouts: Record<string, TableLayout>): void {
    this.#frame.point(bytes);
    this.#layouts = layouts;
    this.#tables = 0;
  }

  root(table: string): void {
    if (this.#frame.length < 8) throw new VerificationError("buffer too short for a FlatBuffer");
    this.table(this.#frame.target(0), table, 0);
  }

  table(position: number, name: string, depth: number): void {
    if (depth > DEPTH_MAX) throw new VerificationError("tables nested too deeply");
    if (++this.#tables > TABLES_MAX) throw new VerificationError("too many tables");
    const layout = this.#layouts[name];
    const frame = this.#frame;
    const vtable = frame.vtableOf(position);
    const vtableBytes = frame.uint16(vtable);
    const tableBytes = frame.uint16(vtable + 2);
    for (let id = 0; id < layout.length; id++) {
      const slot = 4 + id * 2;
      if (slot + 2 > vtableBytes) break;
      const fieldOffset = frame.uint16(vtable + slot);
      if (fieldOffset === 0) continue;
      this.#field(position + fieldOffset, position + tableBytes, layout[id], depth);
    }
  }

  #field(position: number, tableEnd: number, field: FieldLayout, depth: number): void {
    const width = field.kind === "scalar" ? field.bytes : 4;
    if (position + width > tableEnd) throw new VerificationError("field outside its table");
    if (field.kind === "scalar") return;
    const target = this.#frame.target(position);
    if (field.kind === "string") return this.#string(target);
    if (field.kind === "table") return this.table(target, field.table, depth + 1);
    this.#vector(target, field.element, depth);
  }

  #vector(position: number, element: FieldLayout, depth: number): void {
    this.#frame.need(position, 4);
    const length = this.#frame.uint32(position);
    const width = element.kind === "scalar" ? element.bytes : 4;
    this.#frame.need(position + 4, length * width);
    if (element.kind === "scalar") return;
    for (let index = 0; index < length; index++) {
      const target = this.#frame.target(position + 4 + index * 4);
      if (element.kind === "string") this.#string(target);
      else if (element.kind === "table") this.table(target, element.table, depth + 1);
    }
  }

  #string(position: number): void {
    this.#frame.need(position, 4);
    const length = this.#frame.uint32(position);
    this.#frame.need(position + 4, length + 1); // the terminating NUL is part of the encoding
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
