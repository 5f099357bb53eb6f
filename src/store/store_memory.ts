/**
 * The store's memory: one chunk holding the whole capacity (reserved at start, never grown) and
 * the allocator over it. Invariant: every live allocation lies inside its chunk and is freed once.
 * @module
 */
import { RegionAllocator } from "../../ffi/region_allocator.ts";
import { SharedMemoryChunk } from "../../ffi/shared_memory.ts";
import { NativeError } from "../../ffi/status.ts";
import { ALLOCATOR_BLOCKS_MAX, MAIN_CHUNK_ID } from "./constants.ts";
import type { Allocation, ChunkInfo } from "./local_object.ts";

/** How the store's memory is made. */
export interface StoreMemoryOptions {
  capacityBytes: number;
  /** Directory of the backing file (default /dev/shm); its filesystem holds the pages. */
  directory: string;
  /** Pre-fault every page at start. */
  populate: boolean;
  /** Huge pages (the directory should be a hugetlbfs mount). */
  hugepages: boolean;
}

export class StoreMemory {
  readonly capacityBytes: number;
  readonly #chunk: SharedMemoryChunk;
  readonly #allocator: RegionAllocator;
  readonly mainChunk: ChunkInfo;
  #bytes: Uint8Array | undefined;

  constructor(options: StoreMemoryOptions) {
    this.#chunk = SharedMemoryChunk.create(options.capacityBytes, {
      kind: "file",
      directory: options.directory,
      populate: options.populate,
      hugepages: options.hugepages,
    });
    try {
      this.#allocator = new RegionAllocator(options.capacityBytes, ALLOCATOR_BLOCKS_MAX);
    } catch (error) {
      this.#chunk.close();
      throw error;
    }
    this.capacityBytes = this.#allocator.stats().capacityBytes;
    this.mainChunk = { id: MAIN_CHUNK_ID, fd: this.#chunk.fd, sizeBytes: this.#chunk.sizeBytes };
  }

  /** Reserves `sizeBytes` (at least 1), or returns null when no block fits now. */
  allocate(sizeBytes: number): Allocation | null {
    const request = Math.max(1, sizeBytes);
    if (request > this.capacityBytes) return null;
    let offset: number | null;
    try {
      offset = this.#allocator.alloc(request);
    } catch (error) {
      // More blocks than the allocator may track: as full as running out of bytes.
      if (error instanceof NativeError && error.status === "out_of_blocks") return null;
      throw error;
    }
    if (offset === null) return null;
    return { chunkId: MAIN_CHUNK_ID, offset, allocatedBytes: roundUp64(request) };
  }

  free(allocation: Allocation): void {
    this.#allocator.free(allocation.offset);
  }

  /** A zero-copy view of an allocation's bytes (the store copies CreateAndSeal data through it). */
  view(allocation: Allocation, offset: number, length: number): Uint8Array {
    this.#bytes ??= this.#chunk.bytes();
    return this.#bytes.subarray(allocation.offset + offset, allocation.offset + offset + length);
  }

  stats(): { allocatedBytes: number; largestFreeBlockBytes: number; liveBlocks: number } {
    return this.#allocator.stats();
  }

  close(): void {
    this.#allocator.close();
    this.#chunk.close();
  }
}

function roundUp64(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}
