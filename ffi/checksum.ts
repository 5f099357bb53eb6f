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

/**
 * A streaming XXH3-64 (the same values as {@linkcode StreamingHash}) that hashes each piece on a
 * native helper thread: `update` returns at once, so the caller moves the next piece (a file read
 * or write) while this one is hashed. One piece is in flight at a time; every other call waits
 * for it. The caller must not change a piece's bytes until its next call on this hash (the hash
 * holds a reference meanwhile, so the bytes stay alive). `close` waits for the piece in flight.
 */
export class PipelinedHash {
  #pipeline: Deno.PointerValue;
  /** The piece in flight, referenced so its memory outlives the helper's reading of it. */
  #inFlight: Uint8Array | null = null;

  constructor() {
    this.#pipeline = native().plasma_hash_pipeline_create() as Deno.PointerValue;
    if (this.#pipeline === null) throw new Error("cannot start a hash helper thread (out of memory or threads)");
  }

  /** Starts a new hash with `seed` (chain parts by passing the previous part's digest). */
  reset(seed = 0n): void {
    native().plasma_hash_pipeline_reset(this.#live(), seed);
    this.#inFlight = null;
  }

  /** Hands `bytes` to the helper thread; keep them unchanged until the next call. */
  update(bytes: Uint8Array): void {
    native().plasma_hash_pipeline_submit(this.#live(), bytes, BigInt(bytes.length));
    this.#inFlight = bytes;
  }

  /** The hash of everything since the last reset, once the piece in flight is done. */
  digest(): bigint {
    const value = native().plasma_hash_pipeline_digest(this.#live()) as bigint;
    this.#inFlight = null;
    return value;
  }

  close(): void {
    if (this.#pipeline !== null) native().plasma_hash_pipeline_destroy(this.#pipeline);
    this.#pipeline = null;
    this.#inFlight = null;
  }

  #live(): Deno.PointerObject {
    if (this.#pipeline === null) throw new Error("the hash pipeline is closed");
    return this.#pipeline;
  }
}
