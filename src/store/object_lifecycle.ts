/**
 * The object table and every state change of an object: create, seal, reference, release,
 * abort and delete (eager deletion of objects deleted while unsealed or referenced).
 * Invariants: an object's refCount equals the number of clients holding it; memory is freed
 * exactly when an object leaves the table; stats see every transition.
 * @module
 */
import { ErrorCode, type ObjectSource, ObjectState } from "../protocol/messages.ts";
import { type Allocation, LocalObject, NO_SLOT } from "./local_object.ts";
import { ObjectRecords } from "./object_records.ts";
import type { StatsCollector } from "./stats_collector.ts";
import type { StoreMemory } from "./store_memory.ts";

/** Who is told about lifecycle changes. */
export interface LifecycleListener {
  objectSealed(object: LocalObject): void;
  objectDeleted(object: LocalObject): void;
  /** Any object leaving the table, sealed or not, announced or not (before memoryFreed). */
  objectRemoved(object: LocalObject): void;
  memoryFreed(): void;
}

/** What a create needs to know. */
export interface NewObject {
  id: Uint8Array;
  key: string;
  dataSize: number;
  metadataSize: number;
  source: ObjectSource;
  creatorId: number;
}

export class ObjectLifecycle {
  /** The object table: records in typed arrays, found by id through their own index. */
  readonly #records = new ObjectRecords();
  readonly #memory: StoreMemory;
  readonly #stats: StatsCollector;
  readonly #listener: LifecycleListener;

  constructor(memory: StoreMemory, stats: StatsCollector, listener: LifecycleListener) {
    this.#memory = memory;
    this.#stats = stats;
    this.#listener = listener;
  }

  get(key: string): LocalObject | undefined {
    const slot = this.#records.find(key);
    return slot === NO_SLOT ? undefined : new LocalObject(this.#records, slot, key);
  }

  has(key: string): boolean {
    return this.#records.find(key) !== NO_SLOT;
  }

  /** Objects in the table. */
  get size(): number {
    return this.#records.size;
  }

  /** Every object in the table, oldest first (do not add or remove while iterating). */
  values(): IterableIterator<LocalObject> {
    return this.#records[Symbol.iterator]();
  }

  /**
   * Allocates (in memory, or with `allocate` when given: a fallback file) and registers an
   * unsealed object, or says why not (exists / no room now).
   */
  create(
    spec: NewObject,
    allocate?: (sizeBytes: number) => Allocation | null,
  ): LocalObject | ErrorCode.ObjectExists | ErrorCode.OutOfMemory {
    if (this.has(spec.key)) return ErrorCode.ObjectExists;
    const sizeBytes = spec.dataSize + spec.metadataSize;
    // No default closure: this runs once per create.
    const allocation = allocate === undefined ? this.#memory.allocate(sizeBytes) : allocate(sizeBytes);
    if (allocation === null) return ErrorCode.OutOfMemory;
    const object = this.#records.add(spec.key, spec, allocation, this.#memory.chunkOf(allocation));
    this.#stats.added(object);
    return object;
  }

  /** Makes an unsealed object immutable and visible. */
  seal(object: LocalObject): void {
    if (object.sealed) throw new Error("sealing a sealed object");
    this.#stats.track(object, () => {
      object.state = ObjectState.Sealed;
      object.constructDurationMs = Date.now() - object.createTimeMs;
    });
    this.#listener.objectSealed(object);
    this.#deleteIfPending(object);
  }

  /** Adds `holder`'s reference (one per holder); false when it already had one. */
  addReference(object: LocalObject, holder: Set<string>): boolean {
    if (holder.has(object.key)) return false;
    holder.add(object.key);
    this.#stats.track(object, () => object.refCount++);
    return true;
  }

  /** Drops `holder`'s reference; false when it had none. */
  removeReference(object: LocalObject, holder: Set<string>): boolean {
    if (!holder.delete(object.key)) return false;
    if (object.refCount <= 0) throw new Error("reference count would go negative");
    this.#stats.track(object, () => object.refCount--);
    this.#deleteIfPending(object);
    return true;
  }

  /** Discards an unsealed object (its creator's reference goes with it). */
  abort(object: LocalObject, creator: Set<string>): void {
    if (object.sealed) throw new Error("aborting a sealed object");
    if (creator.delete(object.key)) this.#stats.track(object, () => object.refCount--);
    this.#remove(object);
  }

  /**
   * Deletes an object now if it is sealed and unreferenced; otherwise marks it to go as soon as
   * it is (and says why it could not go now).
   */
  delete(object: LocalObject): ErrorCode {
    if (!object.sealed) {
      object.deletePending = true;
      return ErrorCode.ObjectNotSealed;
    }
    if (object.refCount > 0) {
      object.deletePending = true;
      return ErrorCode.ObjectInUse;
    }
    this.#remove(object);
    return ErrorCode.OK;
  }

  /** Drops an evictable object to make room (the caller chose it from the LRU). */
  evict(object: LocalObject): void {
    if (!this.#stats.isEvictable(object)) throw new Error("evicting an object that is not evictable");
    this.#stats.evicted(object);
    this.#remove(object);
  }

  /** Frees a spilled object's memory: it lives on in its spill file, so no deleted event. */
  dropSpilled(object: LocalObject): void {
    if (!object.sealed || object.refCount > 0) throw new Error("dropping an object that is not spillable");
    this.#remove(object, false);
  }

  #deleteIfPending(object: LocalObject): void {
    if (object.deletePending && object.sealed && object.refCount === 0) this.#remove(object);
  }

  #remove(object: LocalObject, announce = true): void {
    if (!object.alive || this.#records.find(object.key) !== object.slot) {
      throw new Error("removing an object that is not in the table");
    }
    if (object.refCount > 0 && object.sealed) throw new Error("removing a referenced object");
    this.#stats.removed(object);
    this.#memory.free(object.allocation);
    if (object.sealed && announce) this.#listener.objectDeleted(object);
    this.#listener.objectRemoved(object);
    // The record goes last: the listeners above still read it.
    this.#records.remove(object.slot);
    this.#listener.memoryFreed();
  }
}
