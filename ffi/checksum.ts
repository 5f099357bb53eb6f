/**
 * A fast 64-bit checksum (XXH3, in the native library) for data written to disk and read back.
 * @module
 */
import { native } from "./library.ts";

/**
 * XXH3-64 of `bytes` with `seed`; chain the parts of one record by passing the last hash as seed.
 * @example
 * ```ts
 * const sum = hash64(data, hash64(header));
 * ```
 */
export function hash64(bytes: Uint8Array, seed = 0n): bigint {
  return native().plasma_hash64(seed, bytes, BigInt(bytes.length)) as bigint;
}
