/**
 * The store's memory: one chunk holding the whole capacity (reserved at start, never grown) with
 * the allocator over it, plus fallback chunks — one file per object, made when memory stays full.
 * Invariant: every live allocation lies inside its chunk and is freed once; a fallback chunk is
 * unmapped and closed (its unlinked file then vanishes) when its object is freed.
 * @module
 */
import { ALLOCATION_ALIGNMENT_BYTES, RegionAllocator } from "../../ffi/region_allocator.ts";
import { filesystemSpace, SharedMemoryChunk } from "../../ffi/shared_memory.ts";
import { NativeError } from "../../ffi/status.ts";
import {
  ALLOCATOR_BLOCKS_MAX,
  DISK_FULL_FRACTION,
  FALLBACK_BYTES_MAX_FACTOR,
  FALLBACK_OBJECTS_MAX,
  MAIN_CHUNK_ID,
} from "./constants.ts";
import type { Allocation, ChunkInfo } from "./local_object.ts";
import { mib } from "./units.ts";

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

/** Why a fallback allocation was refused; the message carries the numbers. */
export interface FallbackRefusal {
  outOfDisk: string;
}

export class StoreMemory {
  /** Bytes objects can occupy: the configured size rounded down to the allocator's alignment. */
  readonly capacityBytes: number;
  /** The size the store was configured with (what Arrow's clients are told). */
  readonly configuredBytes: number;
  readonly #chunk: SharedMemoryChunk;
  readonly #allocator: RegionAllocator;
  readonly mainChunk: ChunkInfo;
  readonly #fallbacks = new Map<number, { chunk: SharedMemoryChunk; info: ChunkInfo }>();
  #fallbackBytes = 0;
  #nextChunkId = MAIN_CHUNK_ID + 1;
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
    this.configuredBytes = options.capacityBytes;
    this.mainChunk = { id: MAIN_CHUNK_ID, fd: this.#chunk.fd, sizeBytes: this.#chunk.sizeBytes };
  }

  /** Reserves `sizeBytes` (at least 1) in memory, or returns null when no block fits now. */
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
    return { chunkId: MAIN_CHUNK_ID, offset, allocatedBytes: roundUpToAlignment(request) };
  }

  /**
   * Allocates `sizeBytes` as its own file in `directory` (fallocate'd first, so a full disk fails
   * here rather than with SIGBUS later), or says why not. Bounded in count and bytes so a flood
   * of small objects cannot exhaust fds or the disk.
   */
  allocateFallback(sizeBytes: number, directory: string): Allocation | FallbackRefusal {
    const request = Math.max(1, sizeBytes);
    if (this.#fallbacks.size >= FALLBACK_OBJECTS_MAX) {
      return { outOfDisk: `${FALLBACK_OBJECTS_MAX} fallback objects exist already (the limit)` };
    }
    const bytesMax = this.capacityBytes * FALLBACK_BYTES_MAX_FACTOR;
    if (this.#fallbackBytes + request > bytesMax) {
      return {
        outOfDisk: `fallback objects would take ${mib(this.#fallbackBytes + request)}, over the limit of ${
          mib(bytesMax)
        }`,
      };
    }
    const refusal = this.#diskRefusal(directory, request);
    if (refusal) return refusal;
    let chunk: SharedMemoryChunk;
    try {
      chunk = SharedMemoryChunk.create(request, { kind: "file", directory, fallocate: true });
    } catch (error) {
      if (!(error instanceof NativeError)) throw error;
      return { outOfDisk: `cannot allocate ${mib(request)} in ${directory}: ${error.status.replaceAll("_", " ")}` };
    }
    const info = { id: this.#nextChunkId++, fd: chunk.fd, sizeBytes: chunk.sizeBytes };
    this.#fallbacks.set(info.id, { chunk, info });
    this.#fallbackBytes += chunk.sizeBytes;
    return { chunkId: info.id, offset: 0, allocatedBytes: chunk.sizeBytes };
  }

  /** Ray's rule: a disk more than 95% full takes no fallback allocation. */
  #diskRefusal(directory: string, request: number): FallbackRefusal | null {
    let space: { freeBytes: number; totalBytes: number };
    try {
      space = filesystemSpace(directory);
    } catch (error) {
      return { outOfDisk: `fallback directory ${directory} is unusable: ${(error as Error).message}` };
    }
    const usedAfter = space.totalBytes - space.freeBytes + request;
    if (request > space.freeBytes || usedAfter > space.totalBytes * DISK_FULL_FRACTION) {
      return {
        outOfDisk: `${directory} has ${mib(space.freeBytes)} free of ${mib(space.totalBytes)}; ${
          mib(request)
        } would fill it past ${DISK_FULL_FRACTION * 100}%`,
      };
    }
    return null;
  }

  /** The chunk an allocation lives in. */
  chunkOf(allocation: Allocation): ChunkInfo {
    if (allocation.chunkId === MAIN_CHUNK_ID) return this.mainChunk;
    const fallback = this.#fallbacks.get(allocation.chunkId);
    if (fallback === undefined) throw new Error(`no chunk ${allocation.chunkId}`);
    return fallback.info;
  }

  free(allocation: Allocation): void {
    if (allocation.chunkId === MAIN_CHUNK_ID) return this.#allocator.free(allocation.offset);
    const fallback = this.#fallbacks.get(allocation.chunkId);
    if (fallback === undefined) throw new Error(`freeing unknown chunk ${allocation.chunkId}`);
    this.#fallbacks.delete(allocation.chunkId);
    this.#fallbackBytes -= fallback.info.sizeBytes;
    fallback.chunk.close();
  }

  /** A zero-copy view of an allocation's bytes (the store copies CreateAndSeal data through it). */
  view(allocation: Allocation, offset: number, length: number): Uint8Array {
    const start = allocation.offset + offset;
    if (allocation.chunkId !== MAIN_CHUNK_ID) {
      return this.#fallbacks.get(allocation.chunkId)!.chunk.bytes().subarray(start, start + length);
    }
    this.#bytes ??= this.#chunk.bytes();
    return this.#bytes.subarray(start, start + length);
  }

  stats(): { allocatedBytes: number; largestFreeBlockBytes: number; liveBlocks: number } {
    return this.#allocator.stats();
  }

  close(): void {
    for (const fallback of this.#fallbacks.values()) fallback.chunk.close();
    this.#fallbacks.clear();
    this.#allocator.close();
    this.#chunk.close();
  }
}

function roundUpToAlignment(bytes: number): number {
  return Math.ceil(bytes / ALLOCATION_ALIGNMENT_BYTES) * ALLOCATION_ALIGNMENT_BYTES;
}
