/**
 * The store's state and operations, independent of sockets: memory, the object lifecycle, the get
 * and create queues, stats. Handlers (handlers.ts) decode requests and call these methods.
 * @module
 */
import { ErrorCode, NO_TRANSFERS, ObjectSource } from "../protocol/messages.ts";
import type { CreateRequest, StoreStats, TransferStats } from "../protocol/messages.ts";
import { idKey } from "../protocol/object_id.ts";
import type { ClientSession } from "./client_session.ts";
import { CreateRequestQueue, type QueuedCreate } from "./create_request_queue.ts";
import { GetRequestQueue, type PendingGet } from "./get_request_queue.ts";
import type { LocalObject } from "./local_object.ts";
import { type NewObject, ObjectLifecycle } from "./object_lifecycle.ts";
import { LruEvictionPolicy } from "./eviction_policy.ts";
import { SpillManager } from "./spill_manager.ts";
import { REQUEST_BYTES_CEILING, REQUEST_BYTES_MAX, RESTORE_WAIT_MS_MAX, SPILL_PERIOD_MS } from "./constants.ts";
import { StatsCollector } from "./stats_collector.ts";
import type { StoreEventSink } from "./store_events.ts";
import { StoreMemory, type StoreMemoryOptions } from "./store_memory.ts";

/** Everything the store needs to start. */
export interface PlasmaStoreOptions extends StoreMemoryOptions {
  fullDelayMs: number;
  oomGraceMs: number;
  /** Where objects go when memory stays full; "" (default) = no fallback allocation. */
  fallbackDirectory?: string;
  /** Where primary copies are spilled; "" (default) = no spilling (the store is an LRU cache). */
  spillDirectory?: string;
  /** An object manager runs beside the store: fetch and delete-everywhere are served (default off). */
  clusterMode?: boolean;
}

/** How hard a create may try: queued creates wait for the grace period before the fallback. */
export type CreateMode = "queued" | "now" | "fallback";

/** What a create may do when memory is short (Arrow's clients: evict only if asked, no fallback). */
export interface CreatePolicy {
  evict: boolean;
  fallback: boolean;
}

const RAY_CREATE_POLICY: CreatePolicy = { evict: true, fallback: true };

/** Told about objects appearing and disappearing (Arrow's subscribers). */
export interface ObjectWatcher {
  sealed(object: LocalObject): void;
  deleted(object: LocalObject): void;
}

export class PlasmaStore {
  readonly memory: StoreMemory;
  readonly stats: StatsCollector;
  readonly eviction: LruEvictionPolicy;
  /** Null when spilling is off. */
  readonly spill: SpillManager | null;
  #spillTimer: ReturnType<typeof setInterval> | undefined;
  readonly #fallbackDirectory: string;
  /** Set while a create evicts: the memory it frees must not re-enter the create queue. */
  #attempting = false;
  readonly lifecycle: ObjectLifecycle;
  readonly gets: GetRequestQueue;
  readonly creates: CreateRequestQueue;
  /** Null until someone listens: events cost nothing when nobody wants them. */
  #events: StoreEventSink | null;
  readonly #enter: (work: () => void) => void;
  clientCount = 0;
  /** Largest request this store accepts (see REQUEST_BYTES_MAX). */
  readonly requestBytesMax: number;
  readonly watchers = new Set<ObjectWatcher>();

  /**
   * @param enter runs work from timers inside the server's dispatch, so replies get flushed
   */
  /** The object manager's transfer counters, as it last reported them (see the runner). */
  transferStats: TransferStats = { ...NO_TRANSFERS };
  readonly #clusterMode: boolean;

  constructor(options: PlasmaStoreOptions, events: StoreEventSink | null, enter: (work: () => void) => void) {
    this.#clusterMode = options.clusterMode ?? false;
    this.memory = new StoreMemory(options);
    this.requestBytesMax = Math.min(
      REQUEST_BYTES_CEILING,
      Math.max(REQUEST_BYTES_MAX, this.memory.capacityBytes + 1024 * 1024),
    );
    this.#fallbackDirectory = options.fallbackDirectory ?? "";
    this.eviction = new LruEvictionPolicy();
    this.stats = new StatsCollector(
      { spillingEnabled: (options.spillDirectory ?? "") !== "" },
      (object, evictable) => this.eviction.evictableChanged(object, evictable),
    );
    this.#events = events;
    this.#enter = enter;
    this.lifecycle = new ObjectLifecycle(this.memory, this.stats, {
      objectSealed: (object) => this.#objectSealed(object),
      objectDeleted: (object) => this.#objectDeleted(object),
      memoryFreed: () => !this.#attempting && this.#memoryFreed(),
    });
    this.gets = new GetRequestQueue(this.lifecycle, (get) => this.#answerGet(get), enter);
    this.spill = options.spillDirectory ? this.#startSpilling(options.spillDirectory) : null;
    this.creates = new CreateRequestQueue(
      (create, mode) =>
        this.#attemptCreate(create.session, create.request, mode, {
          evict: true,
          fallback: create.allowFallback,
        }),
      (create) => this.#createFinished(create),
      enter,
      options,
    );
  }

  /** Starts sending events to `sink` (object added / deleted, store full). */
  subscribe(sink: StoreEventSink): void {
    this.#events = sink;
  }

  /** Creates now or fails now (try_immediately, and CreateAndSeal). */
  createNow(
    session: ClientSession,
    request: CreateRequest,
    policy: CreatePolicy = RAY_CREATE_POLICY,
  ): LocalObject | { error: ErrorCode; message: string } {
    const attempt = this.#attemptCreate(session, request, "now", policy);
    if (attempt !== "retry" && attempt !== "transient") return attempt;
    return { error: ErrorCode.OutOfMemory, message: this.#fullMessage(request) };
  }

  /** try_immediately: creates now or fails now, and replies either way. */
  createImmediately(session: ClientSession, request: CreateRequest): void {
    const result = this.createNow(session, request);
    if ("error" in result) {
      return this.#sendCreateReply(session, request.objectId, 0, null, result.error, result.message);
    }
    this.#sendCreateReply(session, request.objectId, 0, result, ErrorCode.OK, "");
  }

  /**
   * Queues a create for a client that waits for its reply (Arrow's, while a spill can make
   * room): `done` gets the object (referenced for the client) or the error when the create
   * finishes; never a fallback file.
   */
  createAwaited(
    session: ClientSession,
    request: CreateRequest,
    done: (result: LocalObject | { error: ErrorCode; message: string }) => void,
  ): void {
    const onDone = (create: QueuedCreate) => {
      this.creates.claim(create);
      done(create.result!);
    };
    this.creates.add(session, request, { onDone, allowFallback: false });
    this.creates.process();
  }

  /** Queues a create (FIFO) and serves the queue; replies now if it finished at once. */
  createQueued(session: ClientSession, request: CreateRequest): void {
    const create = this.creates.add(session, request);
    this.creates.process();
    if (create.result !== undefined) return this.replyCreate(create);
    this.#sendCreateReply(session, request.objectId, create.requestId, null, ErrorCode.OK, "");
  }

  /** A CreateRetry: the result if finished, else hold the reply up to `longPollMs`. */
  retryCreate(session: ClientSession, objectId: Uint8Array, requestId: number, longPollMs: number): void {
    const create = this.creates.find(requestId, session);
    if (create === undefined || idKey(create.request.objectId) !== idKey(objectId)) {
      return this.#sendCreateReply(
        session,
        objectId,
        0,
        null,
        ErrorCode.InvalidRequest,
        `unknown create request ${requestId}`,
      );
    }
    if (create.result !== undefined) return this.replyCreate(create);
    if (create.retryTimer !== undefined) clearTimeout(create.retryTimer);
    create.retryTimer = setTimeout(() =>
      this.#enter(() => {
        create.retryTimer = undefined;
        this.#sendCreateReply(session, objectId, requestId, null, ErrorCode.OK, "");
      }), longPollMs);
  }

  /** Sends a finished create's result (with the fd of its chunk the first time). */
  replyCreate(create: QueuedCreate): void {
    const result = create.result!;
    this.creates.claim(create);
    if ("error" in result) {
      return this.#sendCreateReply(create.session, create.request.objectId, 0, null, result.error, result.message);
    }
    this.#sendCreateReply(create.session, result.id, 0, result, ErrorCode.OK, "");
  }

  /**
   * Seals one object for its creator, recording the client's digest if it sent one (Arrow's);
   * optionally drops the creator's reference too.
   */
  seal(session: ClientSession, id: Uint8Array, release: boolean, digest: Uint8Array | null = null): ErrorCode {
    const object = this.lifecycle.get(idKey(id));
    if (object === undefined) return ErrorCode.ObjectNonexistent;
    if (object.creatorId !== session.id) return ErrorCode.NotPermitted;
    if (object.sealed) return ErrorCode.ObjectSealed;
    if (digest !== null) object.digestKey = idKey(digest);
    this.lifecycle.seal(object);
    if (release) this.lifecycle.removeReference(object, session.objects);
    return ErrorCode.OK;
  }

  /** Discards an unsealed object; only its creator may. */
  abort(session: ClientSession, id: Uint8Array): ErrorCode {
    const object = this.lifecycle.get(idKey(id));
    if (object === undefined) return ErrorCode.ObjectNonexistent;
    if (object.creatorId !== session.id) return ErrorCode.NotPermitted;
    if (object.sealed) return ErrorCode.ObjectSealed;
    this.lifecycle.abort(object, session.objects);
    return ErrorCode.OK;
  }

  /**
   * Drops the client's reference (no-op when it holds none). An unsealed object cannot be
   * released: its creator's reference is what aborts it if the creator goes away.
   */
  release(session: ClientSession, id: Uint8Array): ErrorCode {
    const object = this.lifecycle.get(idKey(id));
    if (object !== undefined && !object.sealed) return ErrorCode.ObjectNotSealed;
    if (object === undefined || !this.lifecycle.removeReference(object, session.objects)) {
      return ErrorCode.ObjectNonexistent;
    }
    return ErrorCode.OK;
  }

  /** Deletes an object: its disk copy at once, its memory now or when it is released. */
  delete(id: Uint8Array): ErrorCode {
    const key = idKey(id);
    const object = this.lifecycle.get(key);
    const onDisk = this.spill?.delete(key) ?? false;
    if (object === undefined) return onDisk ? ErrorCode.OK : ErrorCode.ObjectNonexistent;
    return this.lifecycle.delete(object);
  }

  /**
   * Evicts least recently used objects until `bytes` of data and metadata are gone (Arrow's
   * Evict request); returns the bytes evicted.
   */
  evictBySize(bytes: number): number {
    let freed = 0;
    for (const victim of this.eviction.chooseBySize(bytes)) {
      freed += victim.sizeBytes;
      this.lifecycle.evict(victim);
    }
    return freed;
  }

  /** Whether a sealed copy exists, in memory or spilled. */
  contains(id: Uint8Array): boolean {
    const key = idKey(id);
    return this.lifecycle.get(key)?.sealed === true || (this.spill?.has(key) ?? false);
  }

  /** Starts a get; spilled objects among its ids are restored (and waited for even at timeout 0). */
  get(session: ClientSession, ids: Uint8Array[], timeoutMs: number): void {
    if (timeoutMs !== 0 && this.#events) this.#reportWanted(ids, "get");
    const spill = this.spill;
    if (spill === null) return this.gets.add(session, ids, timeoutMs);
    for (const id of ids) {
      const key = idKey(id);
      if (!this.lifecycle.get(key) && spill.has(key)) spill.restore(key);
    }
    const restoring = (key: string) => !this.lifecycle.get(key)?.sealed && spill.has(key);
    this.gets.add(session, ids, timeoutMs, restoring, RESTORE_WAIT_MS_MAX);
  }

  /** Whether an object manager serves fetch and delete-everywhere (the store only forwards them). */
  get clusterMode(): boolean {
    return this.#clusterMode;
  }

  /** Cluster mode: asks the object manager to pull the absent ids without anyone waiting. */
  fetch(ids: Uint8Array[]): void {
    this.#reportWanted(ids, "fetch");
  }

  /** Cluster mode: asks the object manager to delete every other node's copy too. */
  deleteEverywhere(ids: Uint8Array[]): void {
    this.#events?.({ type: "deleteEverywhere", objectIdsHex: ids.map(hex) });
  }

  /** Tells the object manager (cluster mode) which ids a waiting get lacks, so it can pull them. */
  #reportWanted(ids: Uint8Array[], priority: "get" | "fetch"): void {
    const absent = ids.filter((id) => {
      const key = idKey(id);
      return this.lifecycle.get(key) === undefined && !(this.spill?.has(key) ?? false);
    });
    if (absent.length > 0) this.#events?.({ type: "objectsWanted", objectIdsHex: absent.map(hex), priority });
  }

  /** Forgets a client: aborts what it left unsealed, drops its references, gets and creates. */
  disconnect(session: ClientSession): void {
    this.gets.removeSession(session);
    this.creates.removeSession(session);
    for (const key of [...session.objects]) {
      const object = this.lifecycle.get(key);
      if (object === undefined) throw new Error("a client references an object that is gone");
      if (!object.sealed && object.creatorId === session.id) this.lifecycle.abort(object, session.objects);
      else this.lifecycle.removeReference(object, session.objects);
    }
    // Objects it created but no longer references can still be unsealed only if aborted above.
    if (session.objects.size !== 0) throw new Error("client references survived its disconnect");
  }

  snapshot(): StoreStats {
    const memory = this.memory.stats();
    return {
      ...this.stats.counters,
      capacityBytes: this.memory.capacityBytes,
      allocatedBytes: memory.allocatedBytes,
      largestFreeBlockBytes: memory.largestFreeBlockBytes,
      numClients: this.clientCount,
      numPendingGets: this.gets.size,
      numQueuedCreates: this.creates.size,
      ...this.transferStats,
    };
  }

  async close(): Promise<void> {
    this.creates.close();
    if (this.#spillTimer !== undefined) clearInterval(this.#spillTimer);
    await this.spill?.close();
    this.memory.close();
  }

  #startSpilling(directory: string): SpillManager {
    const spill = new SpillManager(directory, {
      lifecycle: this.lifecycle,
      memory: this.memory,
      stats: this.stats,
      enter: this.#enter,
    }, {
      memoryFreed: () => this.#memoryFreed(),
      allocateRestored: (spec) => this.#allocateRestored(spec),
      restored: (object) => {
        this.#events?.({ type: "objectRestored", objectIdHex: hex(object.id), sizeBytes: object.sizeBytes });
        this.lifecycle.seal(object);
      },
      spillFailed: (message) => this.#events?.({ type: "spillFailed", message }),
      spilled: (count, bytes) => this.#events?.({ type: "objectsSpilled", count, bytes }),
    });
    // Ray spills periodically too: objects released since the last seal become spillable.
    this.#spillTimer = setInterval(() => this.#enter(() => spill.maybeSpill()), SPILL_PERIOD_MS);
    return spill;
  }

  /**
   * One try at a create: memory; then evict LRU objects and try again; then (after the queue's
   * grace period, or at once for try_immediately) a fallback file. "retry": wait and ask again.
   */
  #attemptCreate(
    session: ClientSession,
    request: CreateRequest,
    mode: CreateMode,
    policy: CreatePolicy,
  ): LocalObject | { error: ErrorCode; message: string } | "retry" | "transient" {
    const total = request.dataSize + request.metadataSize;
    const spec: NewObject = {
      id: request.objectId,
      key: idKey(request.objectId),
      dataSize: request.dataSize,
      metadataSize: request.metadataSize,
      source: request.source,
      creatorId: session.id,
    };
    if (this.lifecycle.get(spec.key) || this.spill?.has(spec.key)) {
      return { error: ErrorCode.ObjectExists, message: "" };
    }
    if (total > this.memory.capacityBytes) {
      return { error: ErrorCode.OutOfMemory, message: this.#fullMessage(request) };
    }
    let result = this.lifecycle.create(spec);
    if (result === ErrorCode.OutOfMemory && policy.evict && this.#evict(this.#shortfall(total)) > 0) {
      result = this.lifecycle.create(spec);
    }
    if (result === ErrorCode.OutOfMemory) {
      this.#events?.({
        type: "storeFull",
        requestedBytes: total,
        capacityBytes: this.memory.capacityBytes,
        allocatedBytes: this.memory.stats().allocatedBytes,
      });
      // A spill in flight will free memory: the queue's head waits without using up its grace.
      if (this.spill?.spill() && mode !== "now") return "transient";
      if (mode === "queued") return "retry";
      if (!policy.fallback) return { error: ErrorCode.OutOfMemory, message: this.#fullMessage(request) };
      return this.#createInFallback(session, spec, request);
    }
    if (result === ErrorCode.ObjectExists) return { error: result, message: "" };
    this.lifecycle.addReference(result, session.objects);
    return result;
  }

  /**
   * Bytes to free for an object of `total` bytes: what is missing (Ray's rule), or the whole size
   * when enough bytes are free but not in one piece.
   */
  #shortfall(total: number): number {
    const missing = this.memory.stats().allocatedBytes + total - this.memory.capacityBytes;
    return missing > 0 ? missing : total;
  }

  /** Memory came back: the create queue's head and waiting restores try again. */
  #memoryFreed(): void {
    if (this.creates.size > 0) this.creates.process();
    this.spill?.retryRestores();
  }

  /** Room for a restored copy: memory, else after evicting; null when neither works now. */
  #allocateRestored(spec: NewObject): LocalObject | null {
    let result = this.lifecycle.create(spec);
    const total = spec.dataSize + spec.metadataSize;
    if (result === ErrorCode.OutOfMemory && this.#evict(this.#shortfall(total)) > 0) {
      result = this.lifecycle.create(spec);
    }
    return typeof result === "number" ? null : result;
  }

  /** Evicts least recently used objects for `bytesNeeded`; returns how many went. */
  #evict(bytesNeeded: number): number {
    const victims = this.eviction.chooseVictims(bytesNeeded, this.memory.capacityBytes);
    this.#attempting = true;
    try {
      for (const victim of victims) this.lifecycle.evict(victim);
    } finally {
      this.#attempting = false;
    }
    return victims.length;
  }

  /** The last resort: the object in a file of its own (OutOfDisk when that fails too). */
  #createInFallback(
    session: ClientSession,
    spec: NewObject,
    request: CreateRequest,
  ): LocalObject | { error: ErrorCode; message: string } {
    if (this.#fallbackDirectory === "") {
      return { error: ErrorCode.OutOfMemory, message: `${this.#fullMessage(request)}; fallback allocation is off` };
    }
    const total = request.dataSize + request.metadataSize;
    const allocation = this.memory.allocateFallback(total, this.#fallbackDirectory);
    if ("outOfDisk" in allocation) {
      return {
        error: ErrorCode.OutOfDisk,
        message: `${this.#fullMessage(request)}; no fallback: ${allocation.outOfDisk}`,
      };
    }
    const result = this.lifecycle.create(spec, () => allocation);
    if (result === ErrorCode.ObjectExists || result === ErrorCode.OutOfMemory) {
      this.memory.free(allocation);
      return { error: result, message: "" };
    }
    this.lifecycle.addReference(result, session.objects);
    return result;
  }

  #fullMessage(request: CreateRequest): string {
    const total = request.dataSize + request.metadataSize;
    const { allocatedBytes } = this.memory.stats();
    return `store is full: ${mib(total)} requested, ${mib(allocatedBytes)} of ${mib(this.memory.capacityBytes)} in use`;
  }

  #createFinished(create: QueuedCreate): void {
    const result = create.result!;
    if ("error" in result && result.error === ErrorCode.OutOfMemory && result.message === "") {
      result.message = this.#fullMessage(create.request);
    }
    if (create.onDone !== null) return create.onDone(create);
    if (create.retryTimer !== undefined) this.replyCreate(create);
  }

  #sendCreateReply(
    session: ClientSession,
    objectId: Uint8Array,
    retryId: number,
    object: LocalObject | null,
    error: ErrorCode,
    message: string,
  ): void {
    session.dialect!.sendCreateReply(session, { objectId, retryId, object, error, message });
  }

  #objectDeleted(object: LocalObject): void {
    for (const watcher of this.watchers) watcher.deleted(object);
    this.#events?.({ type: "objectDeleted", objectIdHex: hex(object.id) });
  }

  #objectSealed(object: LocalObject): void {
    for (const watcher of this.watchers) watcher.sealed(object);
    this.gets.objectSealed(object);
    this.spill?.maybeSpill();
    this.#events?.({
      type: "objectAdded",
      objectIdHex: hex(object.id),
      dataSize: object.dataSize,
      metadataSize: object.metadataSize,
      source: ObjectSource[object.source],
    });
  }

  #answerGet(get: PendingGet): void {
    get.session.dialect!.sendGetReply(get);
  }
}

function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
