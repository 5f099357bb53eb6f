/**
 * Every object's record as a row of typed arrays (struct of arrays), addressed by slot: a store
 * holds millions of objects, and one JS object each cost ~250 bytes of heap plus V8's slack.
 * Invariant: a slot is either live (its key set, in no free list) or free (key undefined, linked
 * in the free list), and its generation changes each time it is freed, so stale handles are caught.
 * @module
 */
import { ObjectState } from "../protocol/messages.ts";
import type { ObjectSource } from "../protocol/messages.ts";
import { ARROW_DIGEST_BYTES } from "../protocol/arrow/messages.ts";
import { HAS_DIGEST, LocalObject, NO_SLOT, SOURCE_SHIFT } from "./local_object.ts";
import type { Allocation, ChunkInfo, RecordColumns } from "./local_object.ts";

/** Slots made at first; the arrays grow by GROWTH_FACTOR when full (untouched pages cost no RSS). */
const SLOTS_INITIAL = 1024;
const GROWTH_FACTOR = 2;
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
  /** The id's bytes as a string (idKey) per slot; shared with the id table's key, not a copy. */
  keys: (string | undefined)[] = [];
  dataSize = new Float64Array(SLOTS_INITIAL);
  metadataSize = new Float64Array(SLOTS_INITIAL);
  offset = new Float64Array(SLOTS_INITIAL);
  allocatedBytes = new Float64Array(SLOTS_INITIAL);
  /** Milliseconds after the process's time origin. */
  createdMs = new Float64Array(SLOTS_INITIAL);
  constructDurationMs = new Int32Array(SLOTS_INITIAL);
  chunkId = new Int32Array(SLOTS_INITIAL);
  creatorId = new Int32Array(SLOTS_INITIAL);
  refCount = new Int32Array(SLOTS_INITIAL);
  /** LRU links (one list at a time: the shared LRU or a quota's); NO_SLOT ends a list. lruNext links the free list too. */
  lruPrev = new Int32Array(SLOTS_INITIAL).fill(NO_SLOT);
  lruNext = new Int32Array(SLOTS_INITIAL).fill(NO_SLOT);
  generation = new Uint32Array(SLOTS_INITIAL);
  /** State, source, deletePending and hasDigest, see the masks above. */
  bits = new Uint8Array(SLOTS_INITIAL);
  /** An Arrow client's seal digest (ARROW_DIGEST_BYTES per slot); other lengths go to #oddDigests. */
  digests = new Uint8Array(SLOTS_INITIAL * ARROW_DIGEST_BYTES);
  readonly #oddDigests = new Map<number, string>();
  readonly #chunks = new Map<number, ChunkUse>();
  #capacity = SLOTS_INITIAL;
  /** Slots below this have been handed out at least once; free ones are linked from #freeHead. */
  #used = 0;
  #freeHead = NO_SLOT;
  #live = 0;

  /** Live records. */
  get size(): number {
    return this.#live;
  }

  /** Slots the arrays hold (live, free and never used). */
  get capacity(): number {
    return this.#capacity;
  }

  /** Records a new unsealed object and returns its handle. */
  add(key: string, sizes: RecordSizes, allocation: Allocation, chunk: ChunkInfo): LocalObject {
    if (!Number.isInteger(sizes.creatorId) || sizes.creatorId < 0 || sizes.creatorId > 0x7fff_ffff) {
      throw new RangeError(`creator id ${sizes.creatorId} is not a 31-bit integer`);
    }
    const slot = this.#takeSlot();
    this.keys[slot] = key;
    this.dataSize[slot] = sizes.dataSize;
    this.metadataSize[slot] = sizes.metadataSize;
    this.offset[slot] = allocation.offset;
    this.allocatedBytes[slot] = allocation.allocatedBytes;
    this.createdMs[slot] = Math.round(performance.now());
    this.constructDurationMs[slot] = -1;
    this.chunkId[slot] = chunk.id;
    this.creatorId[slot] = sizes.creatorId;
    this.refCount[slot] = 0;
    this.lruPrev[slot] = NO_SLOT;
    this.lruNext[slot] = NO_SLOT;
    this.bits[slot] = ObjectState.Created | (sizes.source << SOURCE_SHIFT);
    this.#useChunk(chunk);
    this.#live++;
    return new LocalObject(this, slot);
  }

  /** Frees a live slot; handles to it become stale. */
  remove(slot: number): void {
    if (this.keys[slot] === undefined) throw new Error(`removing free slot ${slot}`);
    if (this.lruPrev[slot] !== NO_SLOT || this.lruNext[slot] !== NO_SLOT) throw new Error("removing a listed record");
    this.#releaseChunk(this.chunkId[slot]);
    if (this.bits[slot] & HAS_DIGEST) this.#oddDigests.delete(slot);
    this.keys[slot] = undefined;
    this.bits[slot] = 0;
    this.generation[slot] = (this.generation[slot] + 1) >>> 0;
    this.lruNext[slot] = this.#freeHead;
    this.#freeHead = slot;
    this.#live--;
  }

  /** A handle to a live slot. */
  handle(slot: number): LocalObject {
    if (this.keys[slot] === undefined) throw new Error(`no live record in slot ${slot}`);
    return new LocalObject(this, slot);
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

  #takeSlot(): number {
    if (this.#freeHead !== NO_SLOT) {
      const slot = this.#freeHead;
      this.#freeHead = this.lruNext[slot];
      this.lruNext[slot] = NO_SLOT;
      return slot;
    }
    if (this.#used === this.#capacity) this.#grow();
    return this.#used++;
  }

  #grow(): void {
    const capacity = this.#capacity * GROWTH_FACTOR;
    this.dataSize = grown(this.dataSize, new Float64Array(capacity));
    this.metadataSize = grown(this.metadataSize, new Float64Array(capacity));
    this.offset = grown(this.offset, new Float64Array(capacity));
    this.allocatedBytes = grown(this.allocatedBytes, new Float64Array(capacity));
    this.createdMs = grown(this.createdMs, new Float64Array(capacity));
    this.constructDurationMs = grown(this.constructDurationMs, new Int32Array(capacity));
    this.chunkId = grown(this.chunkId, new Int32Array(capacity));
    this.creatorId = grown(this.creatorId, new Int32Array(capacity));
    this.refCount = grown(this.refCount, new Int32Array(capacity));
    this.lruPrev = grown(this.lruPrev, new Int32Array(capacity).fill(NO_SLOT, this.#capacity));
    this.lruNext = grown(this.lruNext, new Int32Array(capacity).fill(NO_SLOT, this.#capacity));
    this.generation = grown(this.generation, new Uint32Array(capacity));
    this.bits = grown(this.bits, new Uint8Array(capacity));
    this.digests = grown(this.digests, new Uint8Array(capacity * ARROW_DIGEST_BYTES));
    this.#capacity = capacity;
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

function grown<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(old: T, next: T): T {
  next.set(old as never);
  return next;
}
