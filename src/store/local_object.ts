/**
 * One object held by the store: its sizes, where it lives, its state and who references it.
 * @module
 */
import { type ObjectSource, ObjectState } from "../protocol/messages.ts";
import type { ObjectSpec } from "../protocol/messages.ts";
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

export class LocalObject {
  readonly id: Uint8Array;
  readonly key: string;
  readonly dataSize: number;
  readonly metadataSize: number;
  readonly source: ObjectSource;
  readonly allocation: Allocation;
  readonly chunk: ChunkInfo;
  /** The session id of the client that created it (0 for objects the store made itself). */
  readonly creatorId: number;
  readonly createTimeMs: number;
  state: ObjectState = ObjectState.Created;
  refCount = 0;
  constructDurationMs = -1;
  /** The hash an Arrow client computed at seal (kept and reported, never checked by the store). */
  digest: Uint8Array | null = null;
  /** Deleted while unsealed or referenced: removed as soon as it is sealed and unreferenced. */
  deletePending = false;

  constructor(
    id: Uint8Array,
    key: string,
    sizes: { dataSize: number; metadataSize: number; source: ObjectSource; creatorId: number },
    allocation: Allocation,
    chunk: ChunkInfo,
  ) {
    this.id = id;
    this.key = key;
    this.dataSize = sizes.dataSize;
    this.metadataSize = sizes.metadataSize;
    this.source = sizes.source;
    this.creatorId = sizes.creatorId;
    this.allocation = allocation;
    this.chunk = chunk;
    this.createTimeMs = Date.now();
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
