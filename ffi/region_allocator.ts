/**
 * The native allocator: hands out 64-byte-aligned offsets inside a region of fixed capacity.
 * Its metadata lives outside the shared region, so clients writing there cannot corrupt it.
 * @module
 */
import { handleFrom } from "./_buffers.ts";
import { native } from "./library.ts";
import { Status, unwrap } from "./status.ts";

/** Every offset and allocated size is a multiple of this (ffi/zig/allocator.zig's ALIGNMENT). */
export const ALLOCATION_ALIGNMENT_BYTES = 64;

/** Allocator figures, all in bytes except `liveBlocks`. */
export interface AllocatorStats {
  capacityBytes: number;
  allocatedBytes: number;
  largestFreeBlockBytes: number;
  liveBlocks: number;
}

/** Offsets within one region; `alloc` returns null when nothing fits. */
export class RegionAllocator {
  #handle: Deno.PointerObject | null;
  readonly #offset = new BigUint64Array(1);
  readonly #stats = new BigUint64Array(4);

  /**
   * @param capacityBytes bytes the allocator manages (rounded down to 64)
   * @param blocksMax most blocks (allocated or free) it tracks at once
   */
  constructor(capacityBytes: number, blocksMax: number) {
    const slot = new BigUint64Array(1);
    unwrap(
      native().plasma_allocator_create(BigInt(capacityBytes), blocksMax, slot),
      `Creating a ${capacityBytes}-byte allocator`,
    );
    this.#handle = handleFrom(slot);
  }

  /**
   * Allocates `sizeBytes` (rounded up to 64); returns the offset, or null when no block fits.
   * @throws {NativeError} `invalid_argument` for a size of 0 or over capacity, `out_of_blocks`
   */
  alloc(sizeBytes: number): number | null {
    const status = native().plasma_allocator_alloc(this.#live(), BigInt(sizeBytes), this.#offset);
    if (status === Status.out_of_memory) return null;
    unwrap(status, `Allocating ${sizeBytes} bytes`);
    return Number(this.#offset[0]);
  }

  /**
   * Frees the block at `offset`.
   * @throws {NativeError} `invalid_offset` when no live block starts there
   */
  free(offset: number): void {
    unwrap(native().plasma_allocator_free(this.#live(), BigInt(offset)), `Freeing offset ${offset}`);
  }

  /** Capacity, allocated bytes, largest free block and live block count. */
  stats(): AllocatorStats {
    native().plasma_allocator_stats(this.#live(), this.#stats);
    const [capacity, allocated, largest, live] = this.#stats;
    return {
      capacityBytes: Number(capacity),
      allocatedBytes: Number(allocated),
      largestFreeBlockBytes: Number(largest),
      liveBlocks: Number(live),
    };
  }

  /** Releases the allocator's metadata. Safe to call twice. */
  close(): void {
    if (this.#handle === null) return;
    native().plasma_allocator_destroy(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #live(): Deno.PointerObject {
    if (this.#handle === null) throw new Error("allocator is closed");
    return this.#handle;
  }
}
