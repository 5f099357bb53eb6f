/**
 * Ray's object counters, kept by observing every lifecycle transition: each object is classified
 * before and after a change and the difference is applied, so no counter is kept twice.
 * Invariant: every counter is >= 0 and returns to its baseline when all objects are gone.
 * @module
 */
import { ObjectSource } from "../protocol/messages.ts";
import type { LocalObject } from "./local_object.ts";

/** The counters the store reports (Ray's names in camelCase). */
export interface ObjectCounters {
  numObjectsInUse: number;
  numBytesInUse: number;
  numObjectsEvictable: number;
  numBytesEvictable: number;
  numObjectsSpillable: number;
  numBytesSpillable: number;
  numObjectsUnsealed: number;
  numBytesUnsealed: number;
  numObjectsCreatedByWorker: number;
  numBytesCreatedByWorker: number;
  numObjectsRestored: number;
  numBytesRestored: number;
  numObjectsReceived: number;
  numBytesReceived: number;
  numObjectsErrored: number;
  numBytesErrored: number;
  numBytesCreatedTotal: number;
  numObjects: number;
}

type Category =
  | "InUse"
  | "Evictable"
  | "Spillable"
  | "Unsealed"
  | "CreatedByWorker"
  | "Restored"
  | "Received"
  | "Errored";
const SOURCE_CATEGORY: Record<ObjectSource, Category> = {
  [ObjectSource.CreatedByWorker]: "CreatedByWorker",
  [ObjectSource.RestoredFromStorage]: "Restored",
  [ObjectSource.ReceivedFromRemoteRaylet]: "Received",
  [ObjectSource.ErrorStoredByRaylet]: "Errored",
};

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
  };
  readonly #rule: EvictionRule;

  constructor(rule: EvictionRule) {
    this.#rule = rule;
  }

  /** Whether an object may be evicted now: sealed, unreferenced, and not a primary copy we must keep. */
  isEvictable(object: LocalObject): boolean {
    if (!object.sealed || object.refCount > 0) return false;
    return !this.#rule.spillingEnabled || object.source !== ObjectSource.CreatedByWorker;
  }

  /** Counts a new object (unsealed, unreferenced). */
  added(object: LocalObject): void {
    this.counters.numBytesCreatedTotal += object.sizeBytes;
    this.counters.numObjects++;
    this.#apply(this.#categories(object), object.sizeBytes, 1);
  }

  /** Runs `change` on the object and moves it between categories accordingly. */
  track(object: LocalObject, change: () => void): void {
    const before = this.#categories(object);
    change();
    const after = this.#categories(object);
    this.#apply(before.filter((category) => !after.includes(category)), object.sizeBytes, -1);
    this.#apply(after.filter((category) => !before.includes(category)), object.sizeBytes, 1);
  }

  /** Uncounts an object that leaves the store. */
  removed(object: LocalObject): void {
    this.counters.numObjects--;
    this.#apply(this.#categories(object), object.sizeBytes, -1);
    if (this.counters.numObjects < 0 || this.counters.numBytesInUse < 0) {
      throw new Error(`stats went negative after removing ${object.key.length}-byte id`);
    }
  }

  #categories(object: LocalObject): Category[] {
    const categories: Category[] = [SOURCE_CATEGORY[object.source]];
    if (object.refCount > 0) categories.push("InUse");
    if (!object.sealed) categories.push("Unsealed");
    if (this.isEvictable(object)) categories.push("Evictable");
    const primary = object.source === ObjectSource.CreatedByWorker;
    if (object.sealed && primary && object.refCount === 0) categories.push("Spillable");
    return categories;
  }

  #apply(categories: Category[], bytes: number, sign: 1 | -1): void {
    const counters = this.counters as unknown as Record<string, number>;
    for (const category of categories) {
      counters[`numObjects${category}`] += sign;
      counters[`numBytes${category}`] += sign * bytes;
    }
  }
}
