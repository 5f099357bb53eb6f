/**
 * LRU of the objects that may be evicted (sealed, unreferenced, and not a primary copy while
 * spilling is on). An object joins at the most-recent end when it becomes evictable (sealed, or
 * released by its last holder) and leaves when referenced again.
 * Invariant: the list holds exactly the objects the stats count as evictable.
 * @module
 */
import type { LocalObject } from "./local_object.ts";

/** Ray's rule: when space is needed, free at least this share of the capacity at once. */
export const EVICTION_FRACTION_MIN = 0.2;

export class LruEvictionPolicy {
  /** Oldest first: a Map keeps insertion order, and re-inserting moves an entry to the end. */
  readonly #order = new Map<string, LocalObject>();
  #bytes = 0;

  /** Follows the stats' evictable transitions. */
  evictableChanged(object: LocalObject, evictable: boolean): void {
    if (evictable) {
      if (this.#order.has(object.key)) throw new Error("object became evictable twice");
      this.#order.set(object.key, object);
      this.#bytes += object.allocation.allocatedBytes;
    } else {
      if (!this.#order.delete(object.key)) throw new Error("object stopped being evictable without being so");
      this.#bytes -= object.allocation.allocatedBytes;
    }
  }

  /** Evictable objects and their allocated bytes. */
  get size(): number {
    return this.#order.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The least recently used objects whose allocations add up to at least
   * max(bytesNeeded, 20% of capacity) — or every evictable object in memory if that is not enough.
   */
  chooseVictims(bytesNeeded: number, capacityBytes: number): LocalObject[] {
    const target = Math.max(bytesNeeded, Math.ceil(capacityBytes * EVICTION_FRACTION_MIN));
    const victims: LocalObject[] = [];
    let freed = 0;
    for (const object of this.#order.values()) {
      if (freed >= target) break;
      if (object.fallback) continue; // evicting it would free disk, not memory
      victims.push(object);
      freed += object.allocation.allocatedBytes;
    }
    return victims;
  }

  /**
   * Arrow's Evict request: the least recently used objects until their data and metadata bytes
   * reach `bytes` (objects of 0 bytes count as nothing, so they go with the next one).
   */
  chooseBySize(bytes: number): LocalObject[] {
    const victims: LocalObject[] = [];
    let freed = 0;
    for (const object of this.#order.values()) {
      if (freed >= bytes) break;
      victims.push(object);
      freed += object.sizeBytes;
    }
    return victims;
  }

  /** Marks an evictable object as just used (Arrow's RefreshLRU); others are left alone. */
  refresh(object: LocalObject): void {
    if (this.#order.delete(object.key)) this.#order.set(object.key, object);
  }
}
