/**
 * LRU of the objects that may be evicted (sealed, unreferenced, and not a primary copy while
 * spilling is on). An object joins at the most-recent end when it becomes evictable (sealed, or
 * released by its last holder) and leaves when referenced again.
 * Invariant: the list holds exactly the objects the stats count as evictable.
 * @module
 */
import { MAIN_CHUNK_ID } from "./constants.ts";
import { LocalObject, NO_SLOT, type RecordColumns } from "./local_object.ts";

/** Ray's rule: when space is needed, free at least this share of the capacity at once. */
export const EVICTION_FRACTION_MIN = 0.2;

export class LruEvictionPolicy {
  /**
   * Oldest first, linked through the records' lruPrev/lruNext columns (slots): no per-object entry
   * in a separate map (a store holds millions of objects). The records are those of the first
   * object listed; every object listed must come from them.
   */
  #records: RecordColumns | null = null;
  #head = NO_SLOT;
  #tail = NO_SLOT;
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
      this.#unlink(object.slot);
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
    const records = this.#records;
    if (records === null) return;
    for (let slot = this.#head; slot !== NO_SLOT; slot = records.lruNext[slot]) yield new LocalObject(records, slot);
  }

  /**
   * The least recently used objects whose allocations add up to at least
   * max(bytesNeeded, 20% of capacity) — or every evictable object in memory if that is not enough.
   */
  chooseVictims(bytesNeeded: number, capacityBytes: number): LocalObject[] {
    const target = Math.max(bytesNeeded, Math.ceil(capacityBytes * EVICTION_FRACTION_MIN));
    const victims: LocalObject[] = [];
    const records = this.#records;
    if (records === null) return victims;
    let freed = 0;
    for (let slot = this.#head; slot !== NO_SLOT && freed < target; slot = records.lruNext[slot]) {
      if (records.chunkId[slot] !== MAIN_CHUNK_ID) continue; // evicting it would free disk, not memory
      victims.push(new LocalObject(records, slot));
      freed += records.allocatedBytes[slot];
    }
    return victims;
  }

  /**
   * Arrow's Evict request: the least recently used objects until their data and metadata bytes
   * reach `bytes` (objects of 0 bytes count as nothing, so they go with the next one).
   */
  chooseBySize(bytes: number): LocalObject[] {
    const victims: LocalObject[] = [];
    const records = this.#records;
    if (records === null) return victims;
    let freed = 0;
    for (let slot = this.#head; slot !== NO_SLOT && freed < bytes; slot = records.lruNext[slot]) {
      victims.push(new LocalObject(records, slot));
      freed += records.dataSize[slot] + records.metadataSize[slot];
    }
    return victims;
  }

  /** Marks an evictable object as just used (Arrow's RefreshLRU); others are left alone. */
  refresh(object: LocalObject): void {
    if (!this.#contains(object)) return;
    this.#unlink(object.slot);
    this.#append(object);
  }

  #contains(object: LocalObject): boolean {
    if (this.#records === null) return false;
    if (object.records !== this.#records) throw new Error("an object from other records");
    return object.linked || this.#head === object.slot;
  }

  #append(object: LocalObject): void {
    this.#records ??= object.records;
    if (object.records !== this.#records) throw new Error("an object from other records");
    const { lruPrev, lruNext } = this.#records;
    const slot = object.slot;
    lruPrev[slot] = this.#tail;
    lruNext[slot] = NO_SLOT;
    if (this.#tail === NO_SLOT) this.#head = slot;
    else lruNext[this.#tail] = slot;
    this.#tail = slot;
    this.#size++;
  }

  #unlink(slot: number): void {
    const { lruPrev, lruNext } = this.#records!;
    const prev = lruPrev[slot];
    const next = lruNext[slot];
    if (prev === NO_SLOT) this.#head = next;
    else lruNext[prev] = next;
    if (next === NO_SLOT) this.#tail = prev;
    else lruPrev[next] = prev;
    lruPrev[slot] = NO_SLOT;
    lruNext[slot] = NO_SLOT;
    this.#size--;
  }
}
