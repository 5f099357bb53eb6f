/**
 * One object held by the store, seen through a handle to its record (sizes, where it lives, its
 * state and who references it). Invariant: a handle is used only while its object is in the table.
 * @module
 */
import { type ObjectSource, ObjectState } from "../protocol/messages.ts";
import type { ObjectSpec } from "../protocol/messages.ts";
import { keyBytes } from "../protocol/object_id.ts";
import { MAIN_CHUNK_ID } from "./constants.ts";

/** The flags packed in a record's `bits`: state (bit 0), source (bits 1-2), deletePending, hasDigest. */
export const STATE_MASK = 0b1;
export const SOURCE_SHIFT = 1;
export const SOURCE_MASK = 0b11;
export const DELETE_PENDING = 0b1000;
export const HAS_DIGEST = 0b1_0000;
export const LIVE = 0b10_0000;
/** "No slot" in the records' link columns. */
export const NO_SLOT = -1;

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

/** The columns a handle reads and writes (ObjectRecords, in object_records.ts, holds them). */
export interface RecordColumns {
  readonly dataSize: Float64Array;
  readonly metadataSize: Float64Array;
  readonly offset: Float64Array;
  readonly allocatedBytes: Float64Array;
  readonly createdMs: Float64Array;
  readonly constructDurationMs: Int32Array;
  readonly chunkId: Int32Array;
  readonly creatorId: Int32Array;
  readonly refCount: Int32Array;
  /** LRU links (the shared LRU's or a quota's list); NO_SLOT ends a list. */
  readonly lruPrev: Int32Array;
  readonly lruNext: Int32Array;
  readonly generation: Uint32Array;
  readonly bits: Uint8Array;
  key(slot: number): string;
  chunk(slot: number): ChunkInfo;
  setConstructDuration(slot: number, durationMs: number): void;
  digestKey(slot: number): string | null;
  setDigestKey(slot: number, key: string | null): void;
}

/** Process start in Unix milliseconds: creation times are kept relative to it. */
/** Creation times are kept as milliseconds since this (a Float64Array column). */
export const TIME_ORIGIN_MS = Math.round(performance.timeOrigin);

/**
 * A handle to one record of ObjectRecords (a slot): the fields are read from and written to the
 * records' typed arrays, so a stored object costs no JS object of its own. Handles are made per
 * lookup and are cheap; two handles to one object are equal by `is`, not by `===`. A handle whose
 * object has left the table is stale (`alive` false) and must not be used.
 */
export class LocalObject implements Allocation {
  readonly records: RecordColumns;
  readonly slot: number;
  readonly #generation: number;
  /** The id key, when the handle was found by it (else read from the records on first use). */
  #key: string | undefined;

  constructor(records: RecordColumns, slot: number, key?: string) {
    this.records = records;
    this.slot = slot;
    this.#generation = records.generation[slot];
    this.#key = key;
  }

  /** Whether this handle still names a live object (its slot was not freed since). */
  get alive(): boolean {
    return this.records.generation[this.slot] === this.#generation && (this.records.bits[this.slot] & LIVE) !== 0;
  }

  /** Whether both handles name the same live object. */
  is(other: LocalObject | null | undefined): boolean {
    return other != null && other.records === this.records && other.slot === this.slot &&
      other.#generation === this.#generation;
  }

  /** The id's bytes as a string (idKey). */
  get key(): string {
    if (!this.alive) throw new Error(`stale handle to slot ${this.slot}`);
    return this.#key ??= this.records.key(this.slot);
  }

  get dataSize(): number {
    return this.records.dataSize[this.slot];
  }

  get metadataSize(): number {
    return this.records.metadataSize[this.slot];
  }

  get offset(): number {
    return this.records.offset[this.slot];
  }

  get allocatedBytes(): number {
    return this.records.allocatedBytes[this.slot];
  }

  get chunkId(): number {
    return this.records.chunkId[this.slot];
  }

  get chunk(): ChunkInfo {
    return this.records.chunk(this.slot);
  }

  /** The session id of the client that created it (0 for objects the store made itself). */
  get creatorId(): number {
    return this.records.creatorId[this.slot];
  }

  get refCount(): number {
    return this.records.refCount[this.slot];
  }

  set refCount(count: number) {
    this.records.refCount[this.slot] = count;
  }

  get constructDurationMs(): number {
    return this.records.constructDurationMs[this.slot];
  }

  set constructDurationMs(durationMs: number) {
    this.records.setConstructDuration(this.slot, durationMs);
  }

  /** The hash an Arrow client computed at seal, as a key string (kept and reported, never checked). */
  get digestKey(): string | null {
    return this.records.digestKey(this.slot);
  }

  set digestKey(key: string | null) {
    this.records.setDigestKey(this.slot, key);
  }

  get state(): ObjectState {
    return this.records.bits[this.slot] & STATE_MASK;
  }

  set state(state: ObjectState) {
    const bits = this.records.bits;
    bits[this.slot] = (bits[this.slot] & ~STATE_MASK) | state;
  }

  get source(): ObjectSource {
    return (this.records.bits[this.slot] >> SOURCE_SHIFT) & SOURCE_MASK;
  }

  /** Deleted while unsealed or referenced: removed as soon as it is sealed and unreferenced. */
  get deletePending(): boolean {
    return (this.records.bits[this.slot] & DELETE_PENDING) !== 0;
  }

  set deletePending(pending: boolean) {
    const bits = this.records.bits;
    bits[this.slot] = pending ? bits[this.slot] | DELETE_PENDING : bits[this.slot] & ~DELETE_PENDING;
  }

  /** Linked to another object in an LRU list (a list's only member is listed but not linked). */
  get linked(): boolean {
    return this.records.lruPrev[this.slot] !== NO_SLOT || this.records.lruNext[this.slot] !== NO_SLOT;
  }

  /** Where its bytes are (the handle answers the allocation's fields itself). */
  get allocation(): Allocation {
    return this;
  }

  /** When it was created, in Unix milliseconds. */
  get createTimeMs(): number {
    return TIME_ORIGIN_MS + this.records.createdMs[this.slot];
  }

  /** The id's bytes (a fresh copy each call). */
  get id(): Uint8Array {
    return keyBytes(this.key);
  }

  /** Allocated in its own fallback file rather than in the store's memory. */
  get fallback(): boolean {
    return this.chunkId !== MAIN_CHUNK_ID;
  }

  get sealed(): boolean {
    return (this.records.bits[this.slot] & STATE_MASK) === ObjectState.Sealed;
  }

  /** Data plus metadata bytes. */
  get sizeBytes(): number {
    return this.dataSize + this.metadataSize;
  }

  spec(): ObjectSpec {
    const chunk = this.chunk;
    return {
      storeFd: chunk.fd,
      uniqueFdId: chunk.id,
      mmapSize: chunk.sizeBytes,
      dataOffset: this.offset,
      dataSize: this.dataSize,
      metadataOffset: this.offset + this.dataSize,
      metadataSize: this.metadataSize,
      allocatedSize: this.allocatedBytes,
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
