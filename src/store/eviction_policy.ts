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
  /**
   * Oldest first, linked through the objects' own lruPrev/lruNext fields: no per-object entry in
   * a separate map (a store holds millions of objects).
   */
  #head: LocalObject | null = null;
  #tail: LocalObject | null = null;
  #size = 0;
  /** Data and metadata bytes of the listed objects (Arrow's LRU accounting, for its debug string). */
  #dataBytes = 0;

  /** Follows the stats' evictable transitions. */
  evictableChanged(object: LocalObject, evictable: boolean): void {
    if (evictable) {
      if (this.#contains(object)) throw new Error("object became evictable twice");
      this.#append(object);
      this.#dataBytes += object.sizeBytes;
    } else {
      if (!this.#contains(object)) throw new Error("object stopped being evictable without being so");
      this.#unlink(object);
      this.#dataBytes -= object.sizeBytes;
    }
  }

  /** Listed objects. */
  get size(): number {
    return this.#size;
  }

  /** Data and metadata bytes of the listed objects (allocations round these up). */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  /** The listed objects, oldest first (do not change the list while iterating). */
  *[Symbol.iterator](): IterableIterator<LocalObject> {
    for (let object = this.#head; object !== null; object = object.lruNext) yield object;
  }

  /**
   * The least recently used objects whose allocations add up to at least
   * max(bytesNeeded, 20% of capacity) — or every evictable object in memory if that is not enough.
   */
  chooseVictims(bytesNeeded: number, capacityBytes: number): LocalObject[] {
    const target = Math.max(bytesNeeded, Math.ceil(capacityBytes * EVICTION_FRACTION_MIN));
    const victims: LocalObject[] = [];
    let freed = 0;
    for (let object = this.#head; object !== null && freed < target; object = object.lruNext) {
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
    for (let object = this.#head; object !== null && freed < bytes; object = object.lruNext) {
      victims.push(object);
      freed += object.sizeBytes;
    }
    return victims;
  }

  /** Marks an evictable object as just used (Arrow's RefreshLRU); others are left alone. */
  refresh(object: LocalObject): void {
    if (!this.#contains(object)) return;
    this.#unlink(object);
    this.#append(object);
  }

  #contains(object: LocalObject): boolean {
    return object.lruPrev !== null || this.#head === object;
  }

  #append(object: LocalObject): void {
    object.lruPrev = this.#tail;
    object.lruNext = null;
    if (this.#tail === null) this.#head = object;
    else this.#tail.lruNext = object;
    this.#tail = object;
    this.#size++;
  }

  #unlink(object: LocalObject): void {
    if (object.lruPrev === null) this.#head = object.lruNext;
    else object.lruPrev.lruNext = object.lruNext;
    if (object.lruNext === null) this.#tail = object.lruPrev;
    else object.lruNext.lruPrev = object.lruPrev;
    object.lruPrev = null;
    object.lruNext = null;
    this.#size--;
  }
}
