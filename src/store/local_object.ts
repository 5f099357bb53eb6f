/**
 * One object held by the store: its sizes, where it lives, its state and who references it.
 * @module
 */
import { type ObjectSource, ObjectState } from "../protocol/messages.ts";
import type { ObjectSpec } from "../protocol/messages.ts";
import { keyBytes } from "../protocol/object_id.ts";
import { MAIN_CHUNK_ID } from "./constants.ts";

/** A block of store memory: which chunk, where, and how much was reserved. */
export interface Allocation {
  chunkId: number;
  offset: number;
  allocatedBytes: number;
}

/** Where a chunk is, as clients need it to map it. */
export interface ChunkInfo {
  id: number;
  fd: number;
  sizeBytes: number;
}

const STATE_MASK = 0b1;
const SOURCE_SHIFT = 1;
const SOURCE_MASK = 0b11;
const DELETE_PENDING = 0b1000;

/** Process start in Unix milliseconds: creation times are kept relative to it (small integers). */
const TIME_ORIGIN_MS = Math.round(performance.timeOrigin);

/**
 * Fields are kept few and small (ids as strings, the allocation's fields inline, times as small
 * integers): a store holds millions of these, and each extra object or boxed number costs bytes.
 */
export class LocalObject implements Allocation {
  /** The id's bytes as a string (idKey): the only copy kept, since a small typed array costs far more. */
  readonly key: string;
  readonly dataSize: number;
  readonly metadataSize: number;
  readonly offset: number;
  readonly allocatedBytes: number;
  readonly chunk: ChunkInfo;
  /** The session id of the client that created it (0 for objects the store made itself). */
  readonly creatorId: number;
  /** Milliseconds after TIME_ORIGIN_MS. */
  readonly #createdAfterOriginMs: number;
  /** State (bit 0), source (bits 1-2) and deletePending (bit 3) in one small integer. */
  #bits: number;
  refCount = 0;
  constructDurationMs = -1;
  /** The hash an Arrow client computed at seal, as a key string (kept and reported, never checked). */
  digestKey: string | null = null;
  /** Links of the eviction policy's LRU list (null when not in it). */
  lruPrev: LocalObject | null = null;
  lruNext: LocalObject | null = null;

  constructor(
    key: string,
    sizes: { dataSize: number; metadataSize: number; source: ObjectSource; creatorId: number },
    allocation: Allocation,
    chunk: ChunkInfo,
  ) {
    this.key = key;
    this.dataSize = sizes.dataSize;
    this.metadataSize = sizes.metadataSize;
    this.#bits = ObjectState.Created | (sizes.source << SOURCE_SHIFT);
    this.creatorId = sizes.creatorId;
    this.offset = allocation.offset;
    this.allocatedBytes = allocation.allocatedBytes;
    this.chunk = chunk;
    this.#createdAfterOriginMs = Math.round(performance.now());
  }

  get state(): ObjectState {
    return this.#bits & STATE_MASK;
  }

  set state(state: ObjectState) {
    this.#bits = (this.#bits & ~STATE_MASK) | state;
  }

  get source(): ObjectSource {
    return (this.#bits >> SOURCE_SHIFT) & SOURCE_MASK;
  }

  /** Deleted while unsealed or referenced: removed as soon as it is sealed and unreferenced. */
  get deletePending(): boolean {
    return (this.#bits & DELETE_PENDING) !== 0;
  }

  set deletePending(pending: boolean) {
    this.#bits = pending ? this.#bits | DELETE_PENDING : this.#bits & ~DELETE_PENDING;
  }

  /** The chunk its bytes are in. */
  get chunkId(): number {
    return this.chunk.id;
  }

  /** Where its bytes are (the object carries its allocation's fields itself). */
  get allocation(): Allocation {
    return this;
  }

  /** When it was created, in Unix milliseconds. */
  get createTimeMs(): number {
    return TIME_ORIGIN_MS + this.#createdAfterOriginMs;
  }

  /** The id's bytes (a fresh copy each call). */
  get id(): Uint8Array {
    return keyBytes(this.key);
  }

  /** Allocated in its own fallback file rather than in the store's memory. */
  get fallback(): boolean {
    return this.allocation.chunkId !== MAIN_CHUNK_ID;
  }

  get sealed(): boolean {
    return this.state === ObjectState.Sealed;
  }

  /** Data plus metadata bytes. */
  get sizeBytes(): number {
    return this.dataSize + this.metadataSize;
  }

  spec(): ObjectSpec {
    return {
      storeFd: this.chunk.fd,
      uniqueFdId: this.chunk.id,
      mmapSize: this.chunk.sizeBytes,
      dataOffset: this.allocation.offset,
      dataSize: this.dataSize,
      metadataOffset: this.allocation.offset + this.dataSize,
      metadataSize: this.metadataSize,
      allocatedSize: this.allocation.allocatedBytes,
      fallbackAllocated: this.fallback,
      deviceNum: 0,
    };
  }
}

/** The spec of an object that was not found. */
export const MISSING_SPEC: ObjectSpec = Object.freeze({
  storeFd: -1,
  uniqueFdId: 0,
  mmapSize: 0,
  dataOffset: 0,
  dataSize: -1,
  metadataOffset: 0,
  metadataSize: 0,
  allocatedSize: 0,
  fallbackAllocated: false,
  deviceNum: 0,
});
