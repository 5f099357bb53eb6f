/**
 * Every object's record as a row of typed arrays (struct of arrays), addressed by slot, and the id
 * table that finds a slot from an id: a store holds millions of objects, and one JS object each
 * (plus its id string and Map entry) cost ~250 bytes of heap and V8's slack on top.
 * Invariants: a slot is either live (LIVE bit set, in the id index and the creation list) or free
 * (in the free list only); its generation changes each time it is freed, so stale handles are caught.
 * @module
 */
import { ObjectState } from "../protocol/messages.ts";
import type { ObjectSource } from "../protocol/messages.ts";
import { ARROW_DIGEST_BYTES } from "../protocol/arrow/messages.ts";
import { HAS_DIGEST, LIVE, LocalObject, NO_SLOT, SOURCE_SHIFT, TIME_ORIGIN_MS } from "./local_object.ts";
import type { Allocation, ChunkInfo, RecordColumns } from "./local_object.ts";
import { ALLOCATOR_BLOCKS_MAX, FALLBACK_OBJECTS_MAX } from "./constants.ts";

/**
 * Slots a store may need: a live object holds an allocator block or a fallback file. The columns
 * are made this long at once: the kernel backs their pages only when first written, so unused
 * slots cost address space, not memory, and the columns never grow (growing by copying left the
 * old arrays to V8's next full GC: ~1.5x the live columns' size, measured in bench/README.md).
 */
export const SLOTS_MAX = ALLOCATOR_BLOCKS_MAX + FALLBACK_OBJECTS_MAX;
/** The id index starts with this many entries and doubles to keep its load <= 1/2. */
const INDEX_ENTRIES_INITIAL = 1024;
/** Id bytes kept inline per slot (Arrow's ids are 20 bytes, Ray's 28); longer ids go to a side map. */
const ID_INLINE_BYTES = 28;
/** Construct durations are kept as int32 milliseconds (24 days); longer ones read as this. */
const DURATION_MS_MAX = 0x7fff_ffff;

/** What a new record holds besides its key and allocation. */
export interface RecordSizes {
  dataSize: number;
  metadataSize: number;
  source: ObjectSource;
  creatorId: number;
}

/** A chunk and how many live records point into it (fallback chunks hold one object each). */
interface ChunkUse {
  info: ChunkInfo;
  users: number;
}

export class ObjectRecords implements RecordColumns {
  readonly dataSize: Float64Array;
  readonly metadataSize: Float64Array;
  readonly offset: Float64Array;
  readonly allocatedBytes: Float64Array;
  /** Milliseconds after the process's time origin. */
  readonly createdMs: Float64Array;
  readonly constructDurationMs: Int32Array;
  readonly chunkId: Int32Array;
  readonly creatorId: Int32Array;
  readonly refCount: Int32Array;
  /** LRU links (the shared LRU's list or a quota's); NO_SLOT ends a list. lruNext links the free list too. */
  readonly lruPrev: Int32Array;
  readonly lruNext: Int32Array;
  /** Live records in creation order (spilling takes the oldest first). */
  readonly createdPrev: Int32Array;
  readonly createdNext: Int32Array;
  readonly generation: Uint32Array;
  /** Live, state, source, deletePending and hasDigest (masks in local_object.ts). */
  readonly bits: Uint8Array;
  /** The id: its length, its bytes (ID_INLINE_BYTES per slot; longer ids in #longIds) and its hash. */
  readonly idLength: Uint8Array;
  readonly idBytes: Uint8Array;
  readonly idHash: Int32Array;
  /** An Arrow client's seal digest (ARROW_DIGEST_BYTES per slot); other lengths go to #oddDigests. */
  readonly digests: Uint8Array;
  /**
   * Open-addressing id index (hash -> slot + 1, 0 empty), load <= 1/2, backward-shift deletion.
   * It grows by doubling (the hash touches all of its pages, so it is sized to the live count).
   */
  #index = new Int32Array(INDEX_ENTRIES_INITIAL);
  readonly #longIds = new Map<number, string>();
  readonly #oddDigests = new Map<number, string>();
  readonly #chunks = new Map<number, ChunkUse>();
  readonly #capacity: number;
  /** Slots below this have been handed out at least once; free ones are linked from #freeHead. */
  #used = 0;
  #freeHead = NO_SLOT;
  #oldest = NO_SLOT;
  #newest = NO_SLOT;
  #live = 0;

  constructor(slotsMax = SLOTS_MAX) {
    this.#capacity = slotsMax;
    this.dataSize = new Float64Array(slotsMax);
    this.metadataSize = new Float64Array(slotsMax);
    this.offset = new Float64Array(slotsMax);
    this.allocatedBytes = new Float64Array(slotsMax);
    this.createdMs = new Float64Array(slotsMax);
    this.constructDurationMs = new Int32Array(slotsMax);
    this.chunkId = new Int32Array(slotsMax);
    this.creatorId = new Int32Array(slotsMax);
    this.refCount = new Int32Array(slotsMax);
    // Not filled with NO_SLOT (that would touch every page): add() sets a slot's links.
    this.lruPrev = new Int32Array(slotsMax);
    this.lruNext = new Int32Array(slotsMax);
    this.createdPrev = new Int32Array(slotsMax);
    this.createdNext = new Int32Array(slotsMax);
    this.generation = new Uint32Array(slotsMax);
    this.bits = new Uint8Array(slotsMax);
    this.idLength = new Uint8Array(slotsMax);
    this.idBytes = new Uint8Array(slotsMax * ID_INLINE_BYTES);
    this.idHash = new Int32Array(slotsMax);
    this.digests = new Uint8Array(slotsMax * ARROW_DIGEST_BYTES);
  }

  /** Live records. */
  get size(): number {
    return this.#live;
  }

  /** Slots the columns hold (live, free and never used). */
  get capacity(): number {
    return this.#capacity;
  }

  /** The slot of the live object with this id key, or NO_SLOT. */
  find(key: string): number {
    const mask = this.#index.length - 1;
    const hash = hashKey(key);
    for (let at = hash & mask;; at = (at + 1) & mask) {
      const entry = this.#index[at];
      if (entry === 0) return NO_SLOT;
      const slot = entry - 1;
      if (this.idHash[slot] === hash && this.#idEquals(slot, key)) return slot;
    }
  }

  /** The id key of a live slot (a new string each call: handles keep the one they were found by). */
  key(slot: number): string {
    if ((this.bits[slot] & LIVE) === 0) throw new Error(`no live record in slot ${slot}`);
    const length = this.idLength[slot];
    if (length > ID_INLINE_BYTES) return this.#longIds.get(slot)!;
    const start = slot * ID_INLINE_BYTES;
    return String.fromCharCode.apply(null, this.idBytes.subarray(start, start + length) as unknown as number[]);
  }

  /** Records a new unsealed object (its key must not be live) and returns its handle. */
  add(key: string, sizes: RecordSizes, allocation: Allocation, chunk: ChunkInfo): LocalObject {
    if (!Number.isInteger(sizes.creatorId) || sizes.creatorId < 0 || sizes.creatorId > 0x7fff_ffff) {
      throw new RangeError(`creator id ${sizes.creatorId} is not a 31-bit integer`);
    }
    if (key.length === 0 || key.length > 255) throw new RangeError(`an id of ${key.length} bytes`);
    if (this.find(key) !== NO_SLOT) throw new Error("adding an id that is already live");
    this.#growIndexIfNeeded();
    const slot = this.#takeSlot();
    this.#writeId(slot, key);
    this.dataSize[slot] = sizes.dataSize;
    this.metadataSize[slot] = sizes.metadataSize;
    this.offset[slot] = allocation.offset;
    this.allocatedBytes[slot] = allocation.allocatedBytes;
    // Date.now() costs under half of performance.now() in Deno, and whole ms are all it keeps.
    this.createdMs[slot] = Date.now() - TIME_ORIGIN_MS;
    this.constructDurationMs[slot] = -1;
    this.chunkId[slot] = chunk.id;
    this.creatorId[slot] = sizes.creatorId;
    this.refCount[slot] = 0;
    this.lruPrev[slot] = NO_SLOT;
    this.lruNext[slot] = NO_SLOT;
    this.bits[slot] = LIVE | ObjectState.Created | (sizes.source << SOURCE_SHIFT);
    this.#useChunk(chunk);
    this.#appendCreated(slot);
    this.#indexInsert(slot);
    this.#live++;
    return new LocalObject(this, slot, key);
  }

  /** Frees a live slot; handles to it become stale. */
  remove(slot: number): void {
    if ((this.bits[slot] & LIVE) === 0) throw new Error(`removing free slot ${slot}`);
    if (this.lruPrev[slot] !== NO_SLOT || this.lruNext[slot] !== NO_SLOT) throw new Error("removing a listed record");
    this.#indexRemove(slot);
    this.#unlinkCreated(slot);
    this.#releaseChunk(this.chunkId[slot]);
    this.#oddDigests.delete(slot);
    this.#longIds.delete(slot);
    this.bits[slot] = 0;
    this.generation[slot] = (this.generation[slot] + 1) >>> 0;
    this.lruNext[slot] = this.#freeHead;
    this.#freeHead = slot;
    this.#live--;
  }

  /** A handle to a live slot. */
  handle(slot: number): LocalObject {
    if ((this.bits[slot] & LIVE) === 0) throw new Error(`no live record in slot ${slot}`);
    return new LocalObject(this, slot);
  }

  /** Live records, oldest first (do not add or remove while iterating). */
  *[Symbol.iterator](): IterableIterator<LocalObject> {
    for (let slot = this.#oldest; slot !== NO_SLOT; slot = this.createdNext[slot]) yield new LocalObject(this, slot);
  }

  chunk(slot: number): ChunkInfo {
    const use = this.#chunks.get(this.chunkId[slot]);
    if (use === undefined) throw new Error(`slot ${slot} names unknown chunk ${this.chunkId[slot]}`);
    return use.info;
  }

  setConstructDuration(slot: number, durationMs: number): void {
    this.constructDurationMs[slot] = Math.min(DURATION_MS_MAX, Math.max(0, Math.round(durationMs)));
  }

  /** The digest as a key string, or null. */
  digestKey(slot: number): string | null {
    if ((this.bits[slot] & HAS_DIGEST) === 0) return null;
    const odd = this.#oddDigests.get(slot);
    if (odd !== undefined) return odd;
    const start = slot * ARROW_DIGEST_BYTES;
    return String.fromCharCode(...this.digests.subarray(start, start + ARROW_DIGEST_BYTES));
  }

  setDigestKey(slot: number, key: string | null): void {
    this.#oddDigests.delete(slot);
    if (key === null) {
      this.bits[slot] &= ~HAS_DIGEST;
      return;
    }
    this.bits[slot] |= HAS_DIGEST;
    if (key.length !== ARROW_DIGEST_BYTES) {
      this.#oddDigests.set(slot, key);
      return;
    }
    const start = slot * ARROW_DIGEST_BYTES;
    for (let index = 0; index < ARROW_DIGEST_BYTES; index++) this.digests[start + index] = key.charCodeAt(index);
  }

  #writeId(slot: number, key: string): void {
    this.idLength[slot] = key.length;
    this.idHash[slot] = hashKey(key);
    if (key.length > ID_INLINE_BYTES) {
      this.#longIds.set(slot, key);
      return;
    }
    const start = slot * ID_INLINE_BYTES;
    for (let index = 0; index < key.length; index++) this.idBytes[start + index] = key.charCodeAt(index);
  }

  #idEquals(slot: number, key: string): boolean {
    const length = this.idLength[slot];
    if (length !== key.length) return false;
    if (length > ID_INLINE_BYTES) return this.#longIds.get(slot) === key;
    const start = slot * ID_INLINE_BYTES;
    for (let index = 0; index < length; index++) {
      if (this.idBytes[start + index] !== key.charCodeAt(index)) return false;
    }
    return true;
  }

  #indexInsert(slot: number): void {
    const index = this.#index;
    const mask = index.length - 1;
    let at = this.idHash[slot] & mask;
    while (index[at] !== 0) at = (at + 1) & mask;
    index[at] = slot + 1;
  }

  /** Backward-shift deletion: entries after the hole move up unless their home lies past it. */
  #indexRemove(slot: number): void {
    const index = this.#index;
    const mask = index.length - 1;
    let hole = this.idHash[slot] & mask;
    while (index[hole] !== slot + 1) {
      if (index[hole] === 0) throw new Error(`slot ${slot} is not in the id index`);
      hole = (hole + 1) & mask;
    }
    for (let at = (hole + 1) & mask; index[at] !== 0; at = (at + 1) & mask) {
      const home = this.idHash[index[at] - 1] & mask;
      const stays = hole <= at ? hole < home && home <= at : hole < home || home <= at;
      if (stays) continue;
      index[hole] = index[at];
      hole = at;
    }
    index[hole] = 0;
  }

  #appendCreated(slot: number): void {
    this.createdPrev[slot] = this.#newest;
    this.createdNext[slot] = NO_SLOT;
    if (this.#newest === NO_SLOT) this.#oldest = slot;
    else this.createdNext[this.#newest] = slot;
    this.#newest = slot;
  }

  #unlinkCreated(slot: number): void {
    const prev = this.createdPrev[slot];
    const next = this.createdNext[slot];
    if (prev === NO_SLOT) this.#oldest = next;
    else this.createdNext[prev] = next;
    if (next === NO_SLOT) this.#newest = prev;
    else this.createdPrev[next] = prev;
  }

  #takeSlot(): number {
    if (this.#freeHead !== NO_SLOT) {
      const slot = this.#freeHead;
      this.#freeHead = this.lruNext[slot];
      this.lruNext[slot] = NO_SLOT;
      return slot;
    }
    if (this.#used === this.#capacity) throw new Error(`all ${this.#capacity} record slots are in use`);
    return this.#used++;
  }

  /** Doubles the id index when it would pass half full (rehashing the live slots). */
  #growIndexIfNeeded(): void {
    if ((this.#live + 1) * 2 <= this.#index.length) return;
    this.#index = new Int32Array(this.#index.length * 2);
    for (let slot = this.#oldest; slot !== NO_SLOT; slot = this.createdNext[slot]) this.#indexInsert(slot);
  }

  #useChunk(chunk: ChunkInfo): void {
    const use = this.#chunks.get(chunk.id);
    if (use === undefined) this.#chunks.set(chunk.id, { info: chunk, users: 1 });
    else use.users++;
  }

  #releaseChunk(chunkId: number): void {
    const use = this.#chunks.get(chunkId);
    if (use === undefined) throw new Error(`releasing unknown chunk ${chunkId}`);
    if (--use.users === 0) this.#chunks.delete(chunkId);
  }
}

/** FNV-1a over the key's bytes (one per character), mixed so linear probing sees spread low bits. */
function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index++) hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
  hash ^= hash >>> 15;
  return Math.imul(hash, 0x2c1b3c6d) ^ (hash >>> 12);
}
