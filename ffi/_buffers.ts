/**
 * Small helpers shared by the FFI wrappers: NUL-terminated strings and handle unpacking.
 * @module
 */

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `text` for `const char *` parameters. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  if (text.includes("\0")) throw new TypeError(`Path must not contain NUL bytes: ${JSON.stringify(text)}`);
  return encoder.encode(`${text}\0`);
}

/** Turns a handle written into a u64 out-buffer into a pointer. */
export function handleFrom(slot: BigUint64Array): Deno.PointerObject {
  const pointer = Deno.UnsafePointer.create(slot[0]);
  if (pointer === null) throw new Error("native library returned a null handle");
  return pointer;
}
