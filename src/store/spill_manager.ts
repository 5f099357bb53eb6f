/**
 * Spilling and restoring primary copies. Sealed, unreferenced objects created by clients are
 * written to spill files in batches (on the I/O Worker, never on the store's loop) and their
 * memory freed; a get of a spilled object restores it (one restore per object however many gets
 * wait); delete removes the disk copy, and a spill file goes when its last object does.
 * Invariants: an object is freed from memory only after its bytes are safely in a file; a failed
 * spill (a full disk) keeps every object in memory; at most one spill is in flight.
 * @module
 */
import { ObjectSource } from "../protocol/messages.ts";
import {
  SPILL_BATCH_BYTES_MAX,
  SPILL_BATCH_OBJECTS_MAX,
  SPILL_RETRY_AFTER_FAILURE_MS,
  SPILL_THRESHOLD_FRACTION,
} from "./constants.ts";
import type { LocalObject } from "./local_object.ts";
import type { NewObject, ObjectLifecycle } from "./object_lifecycle.ts";
import type { StatsCollector } from "./stats_collector.ts";
import type { StoreMemory } from "./store_memory.ts";
import { SpillIo } from "./spill_io/spill_io.ts";

/** A spilled object: what is needed to bring it back (or to read it from its file elsewhere). */
export interface DiskCopy {
  id: Uint8Array;
  key: string;
  dataSize: number;
  metadataSize: number;
  url: string;
  path: string;
}

/** What the store does around spills: retry creates when memory frees, report failures. */
export interface SpillListener {
  memoryFreed(): void;
  /** Makes room for a restore the way a create would (eviction), or returns null. */
  allocateRestored(spec: NewObject): LocalObject | null;
  /** A batch was written; `objects` are those now only on disk, each with its spill URL. */
  spilled(count: number, bytes: number, objects: readonly DiskCopy[]): void;
  restored(object: LocalObject): void;
  /** Reading an object back failed; its memory is already freed. */
  restoreFailed(key: string, message: string): void;
  spillFailed(message: string): void;
}

export class SpillManager {
  readonly directory: string;
  readonly #io: SpillIo;
  readonly #lifecycle: ObjectLifecycle;
  readonly #memory: StoreMemory;
  readonly #stats: StatsCollector;
  readonly #listener: SpillListener;
  readonly #enter: (work: () => void) => void;
  readonly #onDisk = new Map<string, DiskCopy>();
  readonly #fileObjects = new Map<string, Set<string>>();
  readonly #restoring = new Set<string>();
  /** Restores that found no memory: retried whenever memory is freed. */
  readonly #waitingForMemory = new Set<string>();
  #inFlight = false;
  #closed = false;
  #failedAtMs = -Infinity;

  constructor(
    directory: string,
    parts: {
      lifecycle: ObjectLifecycle;
      memory: StoreMemory;
      stats: StatsCollector;
      /** Runs I/O completions inside the store's dispatch, so the replies they cause are flushed. */
      enter: (work: () => void) => void;
      /** A spill Worker started by the main thread (see spawnSpillWorker); else one is started here. */
      ioPort?: MessagePort;
    },
    listener: SpillListener,
  ) {
    this.directory = directory;
    this.#lifecycle = parts.lifecycle;
    this.#memory = parts.memory;
    this.#stats = parts.stats;
    this.#listener = listener;
    this.#enter = parts.enter;
    const chunks = [parts.memory.mainChunk];
    this.#io = parts.ioPort ? SpillIo.overPort(parts.ioPort, chunks) : SpillIo.start(chunks);
  }

  /** Whether a spill is being written now (creates then wait: "transient full"). */
  get spilling(): boolean {
    return this.#inFlight;
  }

  /** Whether a spill, restore or delete is waiting for the spill Worker's answer. */
  get awaitingIo(): boolean {
    return this.#io.inFlight > 0;
  }

  /** Whether a copy of the object is on disk. */
  has(key: string): boolean {
    return this.#onDisk.has(key);
  }

  /** Spills when primary bytes in memory pass the threshold (called after seals and releases). */
  maybeSpill(): void {
    const spillable = this.#stats.counters.numBytesSpillable;
    if (spillable > 0 && this.#primaryBytes() > this.#memory.capacityBytes * SPILL_THRESHOLD_FRACTION) this.spill();
  }

  /** Starts a spill batch unless one is in flight; returns whether anything is (now) being spilled. */
  spill(): boolean {
    if (this.#inFlight || this.#closed) return this.#inFlight;
    // After a failure (a full disk), do not hammer the disk: creates go on to the fallback meanwhile.
    if (performance.now() - this.#failedAtMs < SPILL_RETRY_AFTER_FAILURE_MS) return false;
    const batch = this.#chooseBatch();
    if (batch.length === 0) return false;
    this.#inFlight = true;
    const objects = batch.map((object) => ({
      key: object.key,
      chunkId: object.allocation.chunkId,
      offset: object.allocation.offset,
      dataSize: object.dataSize,
      metadataSize: object.metadataSize,
      ownerAddress: new Uint8Array(0),
    }));
    this.#io.spill(this.directory, objects).then(
      ({ path, urls }) => this.#enter(() => this.#spilled(batch, path, urls)),
      (error) => this.#enter(() => this.#failed(error as Error)),
    );
    return true;
  }

  /** Brings a spilled object back into memory (once, however many gets wait for it). */
  restore(key: string): void {
    const copy = this.#onDisk.get(key);
    if (copy === undefined || this.#restoring.has(key) || this.#lifecycle.get(key) || this.#closed) return;
    const spec: NewObject = {
      id: copy.id,
      key,
      dataSize: copy.dataSize,
      metadataSize: copy.metadataSize,
      source: ObjectSource.RestoredFromStorage,
      creatorId: 0,
    };
    const object = this.#listener.allocateRestored(spec);
    if (object === null) {
      // No room now: spill to make some, and retry when memory is freed.
      this.#waitingForMemory.add(key);
      this.spill();
      return;
    }
    this.#waitingForMemory.delete(key);
    this.#restoring.add(key);
    const target = {
      chunkId: object.allocation.chunkId,
      offset: object.allocation.offset,
      dataSize: copy.dataSize,
      metadataSize: copy.metadataSize,
    };
    this.#io.restore(copy.url, target).then(
      () => this.#enter(() => this.#restored(object)),
      (error) =>
        this.#enter(() => {
          this.#restoring.delete(key);
          this.#lifecycle.abort(object, new Set());
          this.#listener.restoreFailed(key, (error as Error).message);
        }),
    );
  }

  /** Retries restores that were waiting for memory (called whenever memory is freed). */
  retryRestores(): void {
    for (const key of [...this.#waitingForMemory]) {
      if (!this.#onDisk.has(key) || this.#lifecycle.get(key)) {
        this.#waitingForMemory.delete(key);
        continue;
      }
      this.restore(key);
      if (this.#waitingForMemory.has(key)) return; // still no room: keep the order
    }
  }

  /** Removes the disk copy (delete); the file goes with its last object. */
  delete(key: string): boolean {
    const copy = this.#onDisk.get(key);
    if (copy === undefined) return false;
    this.#onDisk.delete(key);
    this.#waitingForMemory.delete(key);
    this.#stats.counters.numObjectsOnDisk--;
    this.#stats.counters.numBytesOnDisk -= copy.dataSize + copy.metadataSize;
    const objects = this.#fileObjects.get(copy.path)!;
    objects.delete(key);
    if (objects.size === 0) {
      this.#fileObjects.delete(copy.path);
      this.#stats.counters.numSpillFiles--;
      void this.#io.deleteFile(copy.path).catch((error) =>
        console.error(`plasma store: cannot remove spill file ${copy.path}: ${(error as Error).message}`)
      );
    }
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const path of this.#fileObjects.keys()) await this.#io.deleteFile(path).catch(() => {});
    await this.#io.close();
  }

  #primaryBytes(): number {
    const counters = this.#stats.counters;
    return counters.numBytesCreatedByWorker - counters.numBytesUnsealed;
  }

  /** Spillable objects, least recently created first, bounded by count and bytes. */
  #chooseBatch(): LocalObject[] {
    const batch: LocalObject[] = [];
    let bytes = 0;
    for (const object of this.#lifecycle.values()) {
      if (batch.length >= SPILL_BATCH_OBJECTS_MAX || bytes >= SPILL_BATCH_BYTES_MAX) break;
      if (!this.#spillable(object)) continue;
      batch.push(object);
      bytes += object.sizeBytes;
    }
    return batch;
  }

  #spillable(object: LocalObject): boolean {
    return object.sealed && object.refCount === 0 && object.source === ObjectSource.CreatedByWorker &&
      !object.fallback && !object.deletePending && !this.#onDisk.has(object.key);
  }

  #spilled(batch: LocalObject[], path: string, urls: string[]): void {
    const keys = new Set<string>();
    const spilled: DiskCopy[] = [];
    let spilledBytes = 0;
    batch.forEach((object, index) => {
      // Deleted or taken by a client while it was written: the disk copy is not needed.
      if (!object.alive || !this.#spillable(object)) return;
      this.#onDisk.set(object.key, {
        id: object.id,
        key: object.key,
        dataSize: object.dataSize,
        metadataSize: object.metadataSize,
        url: urls[index],
        path,
      });
      keys.add(object.key);
      spilled.push(this.#onDisk.get(object.key)!);
      const counters = this.#stats.counters;
      counters.numObjectsSpilled++;
      counters.numBytesSpilled += object.sizeBytes;
      counters.numObjectsOnDisk++;
      counters.numBytesOnDisk += object.sizeBytes;
      spilledBytes += object.sizeBytes;
      this.#lifecycle.dropSpilled(object); // its handle is stale from here on
    });
    if (keys.size > 0) {
      this.#listener.spilled(keys.size, spilledBytes, spilled);
    }
    if (keys.size === 0) {
      void this.#io.deleteFile(path).catch(() => {});
    } else {
      this.#fileObjects.set(path, keys);
      this.#stats.counters.numSpillFiles++;
    }
    // Only now may the next batch start: it must not pick objects of this one.
    this.#inFlight = false;
    this.#listener.memoryFreed();
    this.maybeSpill();
  }

  #failed(error: Error): void {
    this.#inFlight = false;
    this.#failedAtMs = performance.now();
    this.#listener.spillFailed(error.message);
  }

  #restored(object: LocalObject): void {
    this.#restoring.delete(object.key);
    // Deleted while it was being read back: the copy is not wanted any more.
    if (!this.#onDisk.has(object.key)) return this.#lifecycle.abort(object, new Set());
    const counters = this.#stats.counters;
    counters.numObjectsRestoredFromDisk++;
    counters.numBytesRestoredFromDisk += object.sizeBytes;
    this.#listener.restored(object);
  }
}
