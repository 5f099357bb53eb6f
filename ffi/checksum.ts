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

/**
 * A streaming XXH3-64: the same value as {@linkcode hash64} over the concatenated pieces, so a
 * large part can be hashed piece by piece while each piece is still in the CPU's cache from the
 * read that brought it (or before the write that moves it). One state, reset per part; `close`
 * frees it.
 */
export class StreamingHash {
  #state: Deno.PointerValue;

  constructor() {
    this.#state = native().plasma_hasher_create() as Deno.PointerValue;
    if (this.#state === null) throw new Error("out of memory for a hash state");
  }

  /** Starts a new hash with `seed` (chain parts by passing the previous part's digest). */
  reset(seed = 0n): void {
    native().plasma_hasher_reset(this.#live(), seed);
  }

  update(bytes: Uint8Array): void {
    native().plasma_hasher_update(this.#live(), bytes, BigInt(bytes.length));
  }

  /** The hash of everything since the last reset. */
  digest(): bigint {
    return native().plasma_hasher_digest(this.#live()) as bigint;
  }

  close(): void {
    if (this.#state !== null) native().plasma_hasher_destroy(this.#state);
    this.#state = null;
  }

  #live(): Deno.PointerObject {
    if (this.#state === null) throw new Error("the hash state is closed");
    return this.#state;
  }
}
