/**
 * One frame inside a connection's read buffer, read through one DataView over that whole buffer
 * (kept until a frame from another buffer comes: a DataView per frame showed in the store's
 * per-request profile), with positions relative to the frame's start and every range checked
 * against the frame's length. The verifier and FlatReader share it, so they agree on what lies
 * inside a frame.
 * @module
 */
/** Why a buffer was rejected; carries no peer data beyond offsets. */
export class VerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VerificationError";
  }
}

export class FrameView {
  #buffer: ArrayBufferLike | null = null;
  #view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  #base = 0;
  /** The frame's length in bytes. */
  length = 0;

  /** Points the view at `bytes` (a frame, usually a view into a connection's buffer). */
  point(bytes: Uint8Array): void {
    if (bytes.buffer !== this.#buffer || this.#view.byteLength !== bytes.buffer.byteLength) {
      this.#buffer = bytes.buffer;
      this.#view = new DataView(bytes.buffer);
    }
    this.#base = bytes.byteOffset;
    this.length = bytes.byteLength;
  }

  /** @throws {VerificationError} unless [position, position + bytes) lies inside the frame */
  need(position: number, bytes: number): void {
    if (position < 0 || bytes < 0 || position + bytes > this.length) {
      throw new VerificationError(`offset ${position}+${bytes} outside the ${this.length}-byte buffer`);
    }
  }

  /** The position the uoffset at `position` points to, both checked to lie inside the frame. */
  target(position: number): number {
    this.need(position, 4);
    const target = position + this.uint32(position);
    this.need(target, 0);
    return target;
  }

  /**
   * The vtable of the table at `position`, with the table and its vtable checked to lie inside
   * the frame and the vtable's size to be sane; read the sizes with `uint16(vtable)` (vtable
   * bytes) and `uint16(vtable + 2)` (table bytes).
   */
  vtableOf(position: number): number {
    this.need(position, 4);
    const vtable = position - this.int32(position);
    this.need(vtable, 4);
    const vtableBytes = this.uint16(vtable);
    if (vtableBytes < 4 || vtableBytes % 2 !== 0) throw new VerificationError(`bad vtable size ${vtableBytes}`);
    this.need(vtable, vtableBytes);
    this.need(position, this.uint16(vtable + 2));
    return vtable;
  }

  // Unchecked reads: callers check the range first (need, target, vtableOf).
  uint8(position: number): number {
    return this.#view.getUint8(this.#base + position);
  }

  uint16(position: number): number {
    return this.#view.getUint16(this.#base + position, true);
  }

  int32(position: number): number {
    return this.#view.getInt32(this.#base + position, true);
  }

  uint32(position: number): number {
    return this.#view.getUint32(this.#base + position, true);
  }
}
