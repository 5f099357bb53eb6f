/**
 * Ray's object counters, kept by observing every lifecycle transition: each object is classified
 * (as a bit set) before and after a change and only the categories that changed are updated, so
 * no counter is kept twice and no transition allocates.
 * Invariant: every counter is >= 0 and returns to its baseline when all objects are gone.
 * @module
 */
import { ObjectSource } from "../protocol/messages.ts";
import type { StoreStats, TransferStats } from "../protocol/messages.ts";
import type { LocalObject } from "./local_object.ts";

/** The object counters the store reports (Ray's names in camelCase): StoreStats minus memory and
 * queue figures and the object manager's transfer counters. */
export type ObjectCounters = Omit<
  StoreStats,
  | "capacityBytes"
  | "allocatedBytes"
  | "largestFreeBlockBytes"
  | "numClients"
  | "numPendingGets"
  | "clientMemoryBytes"
  | "numQueuedCreates"
  | keyof TransferStats
>;

/** Category bits, in the order of CATEGORY_COUNTERS. */
const IN_USE = 1 << 0;
const EVICTABLE = 1 << 1;
const SPILLABLE = 1 << 2;
const UNSEALED = 1 << 3;
const FALLBACK = 1 << 4;
/** Source bits start here: bit (SOURCE_SHIFT + source). */
const SOURCE_SHIFT = 5;

/** [objects counter, bytes counter] per category bit. */
const CATEGORY_COUNTERS: [keyof ObjectCounters, keyof ObjectCounters][] = [
  ["numObjectsInUse", "numBytesInUse"],
  ["numObjectsEvictable", "numBytesEvictable"],
  ["numObjectsSpillable", "numBytesSpillable"],
  ["numObjectsUnsealed", "numBytesUnsealed"],
  ["numObjectsFallback", "numBytesFallback"],
  ["numObjectsCreatedByWorker", "numBytesCreatedByWorker"], // SOURCE_SHIFT + CreatedByWorker
  ["numObjectsRestored", "numBytesRestored"], // SOURCE_SHIFT + RestoredFromStorage
  ["numObjectsReceived", "numBytesReceived"], // SOURCE_SHIFT + ReceivedFromRemoteRaylet
  ["numObjectsErrored", "numBytesErrored"], // SOURCE_SHIFT + ErrorStoredByRaylet
];

/** Which objects may be evicted: with spilling on, primary copies are kept (spilled instead). */
export interface EvictionRule {
  spillingEnabled: boolean;
}

export class StatsCollector {
  readonly counters: ObjectCounters = {
    numObjectsInUse: 0,
    numBytesInUse: 0,
    numObjectsEvictable: 0,
    numBytesEvictable: 0,
    numObjectsSpillable: 0,
    numBytesSpillable: 0,
    numObjectsUnsealed: 0,
    numBytesUnsealed: 0,
    numObjectsCreatedByWorker: 0,
    numBytesCreatedByWorker: 0,
    numObjectsRestored: 0,
    numBytesRestored: 0,
    numObjectsReceived: 0,
    numBytesReceived: 0,
    numObjectsErrored: 0,
    numBytesErrored: 0,
    numBytesCreatedTotal: 0,
    numObjects: 0,
    numObjectsEvicted: 0,
    numBytesEvicted: 0,
    numObjectsFallback: 0,
    numBytesFallback: 0,
    numObjectsSpilled: 0,
    numBytesSpilled: 0,
    numObjectsRestoredFromDisk: 0,
    numBytesRestoredFromDisk: 0,
    numObjectsOnDisk: 0,
    numBytesOnDisk: 0,
    numSpillFiles: 0,
    numRestoresFailed: 0,
    numGetRequests: 0,
    numObjectsCreatedTotal: 0,
    numServeErrors: 0,
    numClientMemoryRefusals: 0,
  };
  /**
   * The category counters ([objects, bytes] per category bit), behind read-only accessors of
   * `counters`: #apply runs on every transition, and a store keyed by a variable name was its
   * slowest step (megamorphic property access, ~16% of the core's object operations).
   */
  readonly #categoryCounts = new Float64Array(CATEGORY_COUNTERS.length * 2);
  readonly #rule: EvictionRule;
  readonly #evictableChanged: (object: LocalObject, evictable: boolean) => void;

  /**
   * @param evictableChanged told whenever an object becomes evictable or stops being so (the
   *   eviction policy's LRU follows this, so the two can never disagree)
   */
  constructor(rule: EvictionRule, evictableChanged: (object: LocalObject, evictable: boolean) => void = () => {}) {
    this.#rule = rule;
    this.#evictableChanged = evictableChanged;
    const counts = this.#categoryCounts;
    CATEGORY_COUNTERS.forEach((names, bit) => {
      names.forEach((name, column) => {
        Object.defineProperty(this.counters, name, { get: () => counts[bit * 2 + column], enumerable: true });
      });
    });
  }

  /** Counts an object evicted from memory. */
  evicted(object: LocalObject): void {
    this.counters.numObjectsEvicted++;
    this.counters.numBytesEvicted += object.sizeBytes;
  }

  /** Whether an object may be evicted now: sealed, unreferenced, and not a primary copy we must keep. */
  isEvictable(object: LocalObject): boolean {
    if (!object.sealed || object.refCount > 0) return false;
    return !this.#rule.spillingEnabled || object.source !== ObjectSource.CreatedByWorker;
  }

  /** Counts a get request as it arrives (once per request, however many ids it names). */
  getRequested(): void {
    this.counters.numGetRequests++;
  }

  /** Counts a new object (unsealed, unreferenced), whatever its source. */
  added(object: LocalObject): void {
    this.counters.numBytesCreatedTotal += object.sizeBytes;
    this.counters.numObjectsCreatedTotal++;
    this.counters.numObjects++;
    const categories = this.#categories(object);
    this.#apply(categories, object.sizeBytes, 1);
    if (categories & EVICTABLE) this.#evictableChanged(object, true);
  }

  /** Runs `change` on the object and moves it between categories accordingly. */
  track(object: LocalObject, change: () => void): void {
    const before = this.#categories(object);
    change();
    const after = this.#categories(object);
    this.#apply(before & ~after, object.sizeBytes, -1);
    this.#apply(after & ~before, object.sizeBytes, 1);
    if ((before ^ after) & EVICTABLE) this.#evictableChanged(object, (after & EVICTABLE) !== 0);
  }

  /** Uncounts an object that leaves the store. */
  removed(object: LocalObject): void {
    this.counters.numObjects--;
    const categories = this.#categories(object);
    this.#apply(categories, object.sizeBytes, -1);
    if (categories & EVICTABLE) this.#evictableChanged(object, false);
    if (this.counters.numObjects < 0 || this.counters.numBytesInUse < 0) {
      throw new Error("stats went negative: an object was removed twice");
    }
  }

  #categories(object: LocalObject): number {
    let bits = 1 << (SOURCE_SHIFT + object.source);
    if (object.refCount > 0) bits |= IN_USE;
    if (!object.sealed) bits |= UNSEALED;
    if (object.fallback) bits |= FALLBACK;
    if (this.isEvictable(object)) bits |= EVICTABLE;
    if (object.sealed && object.refCount === 0 && object.source === ObjectSource.CreatedByWorker) bits |= SPILLABLE;
    return bits;
  }

  #apply(bits: number, bytes: number, sign: 1 | -1): void {
    const counts = this.#categoryCounts;
    for (let bit = 0; bits !== 0; bit++, bits >>>= 1) {
      if ((bits & 1) === 0) continue;
      counts[bit * 2] += sign;
      counts[bit * 2 + 1] += sign * bytes;
    }
  }
}
