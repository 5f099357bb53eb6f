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
 * Checksums of whole spill records (the chained XXH3 of header, owner, metadata and data, as
 * {@linkcode hash64} chains them) computed on a native helper thread: `submit` returns at once, so
 * the caller moves the next record's bytes while the helper hashes this one, and `wait` collects
 * the batch's checksums at its end. One job per record: the helper is woken at most once per
 * record, and the caller waits once per batch. The queue copies header and owner and keeps the
 * results itself, so a thread that dies with jobs queued leaves the helper nothing freed to touch;
 * metadata and data must stay mapped until `wait` returns (the spill I/O passes views of the
 * store's mapped chunks).
 */
export class RecordHashQueue {
  #queue: Deno.PointerValue;
  #submitted = 0;

  constructor() {
    this.#queue = native().plasma_hash_queue_create() as Deno.PointerValue;
    if (this.#queue === null) throw new Error("cannot start a hash helper thread (out of memory or threads)");
  }

  /**
   * Queues one record's checksum; returns its index in what the next `wait` returns, or null when
   * the queue refuses it (its batch is full, or header and owner are too large): hash it in line.
   */
  submit(header: Uint8Array, owner: Uint8Array, metadata: Uint8Array, data: Uint8Array): number | null {
    const index = native().plasma_hash_queue_submit(
      this.#live(),
      header,
      BigInt(header.length),
      owner,
      BigInt(owner.length),
      metadata,
      BigInt(metadata.length),
      data,
      BigInt(data.length),
    ) as number;
    if (index < 0) return null;
    this.#submitted = index + 1;
    return index;
  }

  /** Waits for every queued checksum; returns them in submission order and starts a new batch. */
  wait(): bigint[] {
    const out = new BigUint64Array(this.#submitted);
    const copied = Number(native().plasma_hash_queue_wait(this.#live(), out, BigInt(out.length)));
    this.#submitted = 0;
    return [...out.subarray(0, copied)];
  }

  /** Finishes the queued jobs and ends the helper thread. Safe twice. */
  close(): void {
    if (this.#queue !== null) native().plasma_hash_queue_destroy(this.#queue);
    this.#queue = null;
    this.#submitted = 0;
  }

  #live(): Deno.PointerObject {
    if (this.#queue === null) throw new Error("the record hash queue is closed");
    return this.#queue;
  }
}
