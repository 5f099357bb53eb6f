/**
 * The store's core: memory, the object lifecycle, the get and create queues, eviction, spilling
 * and stats, all private. It decides and never writes to a socket: each operation returns its
 * outcome, and requests that wait finish through the StoreOutput the server gives it.
 * @module
 */
import { ErrorCode, NO_TRANSFERS, ObjectSource } from "../protocol/messages.ts";
import type { CreateRequest, StoreStats, TransferStats } from "../protocol/messages.ts";
import { idKey, keyBytes } from "../protocol/object_id.ts";
import {
  type CreateAttempt,
  CreateRequestQueue,
  type InlineObject,
  type QueuedCreate,
} from "./create_request_queue.ts";
import { clientErrorLog } from "../log/rate_limited_log.ts";
import { GetRequestQueue, type PendingGetLoad } from "./get_request_queue.ts";
import { LocalObject } from "./local_object.ts";
import { type NewObject, ObjectLifecycle } from "./object_lifecycle.ts";
import { LruEvictionPolicy } from "./eviction_policy.ts";
import { QuotaPolicy } from "./quota_policy.ts";
import { SpillManager } from "./spill_manager.ts";
import { CLIENT_MEMORY_SHARE_BYTES_MIN, RESTORE_WAIT_MS_MAX, SPILL_PERIOD_MS } from "./constants.ts";
import { requestBytesMaxFor } from "../protocol/limits.ts";
import { StatsCollector } from "./stats_collector.ts";
import { ClientMemoryBudget, clientMemoryBytesFor } from "./client_memory_budget.ts";
import type { StoreClient } from "./store_client.ts";
import type { StoreEventSink } from "./store_events.ts";
import { StoreMemory, type StoreMemoryOptions } from "./store_memory.ts";
import type { CreateResult, Failure, GetResult, StoreOutput } from "./store_output.ts";
import { mib } from "./units.ts";

/** Everything the store needs to start. */
export interface PlasmaStoreOptions extends StoreMemoryOptions {
  fullDelayMs: number;
  oomGraceMs: number;
  /** Where objects go when memory stays full; "" (default) = no fallback allocation. */
  fallbackDirectory?: string;
  /** Where primary copies are spilled; "" (default) = no spilling (the store is an LRU cache). */
  spillDirectory?: string;
  /** The port of a spill I/O Worker the main thread started (see spawnSpillWorker). */
  spillPort?: MessagePort;
  /** An object manager runs beside the store: fetch and delete-everywhere are served (default off). */
  clusterMode?: boolean;
  /** Memory clients may make the store hold outside object memory, all together (0 or unset: the default). */
  clientMemoryBytes?: number;
}

/** What the store is wired to: where waited answers and events go, and how timer work runs. */
export interface PlasmaStoreWiring {
  output: StoreOutput;
  /** Null until someone listens: events cost nothing when nobody wants them. */
  events: StoreEventSink | null;
  /** Runs work from timers and I/O completions inside the server's dispatch, so replies get flushed. */
  enter: (work: () => void) => void;
}

/** How hard a create may try: queued creates wait for the grace period before the fallback. */
type CreateMode = "queued" | "now" | "fallback";

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

/** The object's bytes as they arrived with the request, to be written into it. */
export interface ObjectBytes {
  data: Uint8Array;
  metadata: Uint8Array;
}

export class PlasmaStore {
  readonly #memory: StoreMemory;
  readonly #stats: StatsCollector;
  readonly #eviction: LruEvictionPolicy;
  /** Arrow's per-client quotas: objects a client with a quota owns stay out of `#eviction`. */
  readonly #quota: QuotaPolicy;
  /** Null when spilling is off. */
  readonly #spill: SpillManager | null;
  #spillTimer: ReturnType<typeof setInterval> | undefined;
  readonly #fallbackDirectory: string;
  /** Set while a create evicts: the memory it frees must not re-enter the create queue. */
  #attempting = false;
  readonly #lifecycle: ObjectLifecycle;
  readonly #gets: GetRequestQueue;
  readonly #creates: CreateRequestQueue;
  readonly #output: StoreOutput;
  #events: StoreEventSink | null;
  readonly #enter: (work: () => void) => void;
  #clientCount = 0;
  /** Largest request this store accepts (see requestBytesMaxFor). */
  readonly requestBytesMax: number;
  /** What clients hold outside object memory (receive buffers, notification backlogs); the edges charge it. */
  readonly clientMemory: ClientMemoryBudget<object>;
  readonly #watchers = new Set<ObjectWatcher>();
  /** The object manager's transfer counters, as it last reported them (see the runner). */
  transferStats: TransferStats = { ...NO_TRANSFERS };
  readonly #clusterMode: boolean;

  constructor(options: PlasmaStoreOptions, wiring: PlasmaStoreWiring) {
    this.#clusterMode = options.clusterMode ?? false;
    this.#memory = new StoreMemory(options);
    this.requestBytesMax = requestBytesMaxFor(this.#memory.capacityBytes);
    const clientMemoryBytes = clientMemoryBytesFor(options.clientMemoryBytes, this.requestBytesMax);
    this.clientMemory = new ClientMemoryBudget(
      clientMemoryBytes,
      Math.min(CLIENT_MEMORY_SHARE_BYTES_MIN, clientMemoryBytes),
    );
    this.#fallbackDirectory = options.fallbackDirectory ?? "";
    this.#eviction = new LruEvictionPolicy();
    this.#quota = new QuotaPolicy(this.#memory.configuredBytes);
    this.#stats = new StatsCollector(
      { spillingEnabled: (options.spillDirectory ?? "") !== "" },
      (object, evictable) => this.#quota.owns(object) || this.#eviction.evictableChanged(object, evictable),
    );
    this.#output = wiring.output;
    this.#events = wiring.events;
    this.#enter = wiring.enter;
    this.#lifecycle = new ObjectLifecycle(this.#memory, this.#stats, {
      objectSealed: (object) => this.#objectSealed(object),
      objectDeleted: (object) => this.#objectDeleted(object),
      objectRemoved: (object) => this.#quota.objectRemoved(object),
      memoryFreed: () => !this.#attempting && this.#memoryFreed(),
    });
    this.#gets = new GetRequestQueue(
      this.#lifecycle,
      (client, get) => this.#output.getFinished(client, get),
      this.#enter,
    );
    this.#spill = options.spillDirectory ? this.#startSpilling(options.spillDirectory, options.spillPort) : null;
    this.#creates = new CreateRequestQueue(
      (create, mode) => this.#attemptQueued(create, mode),
      (create) => this.#createFinished(create),
      this.#enter,
      options,
    );
  }

  /** Bytes objects can occupy (the configured size rounded down to the allocator's alignment). */
  get capacityBytes(): number {
    return this.#memory.capacityBytes;
  }

  /** The size the store was configured with (what Arrow's clients are told). */
  get configuredBytes(): number {
    return this.#memory.configuredBytes;
  }

  /** Whether primary copies are spilled to disk (a full store's creates may then wait for room). */
  get spillingEnabled(): boolean {
    return this.#spill !== null;
  }

  /** Whether the spill Worker's answer to some request is awaited (the loop must not block then). */
  get awaitingSpillIo(): boolean {
    return this.#spill?.awaitingIo ?? false;
  }

  /** Creates waiting in the queue, across all clients. */
  get queuedCreateCount(): number {
    return this.#creates.size;
  }

  /**
   * Runs `work` once the requests already received from every client have been handled (the
   * current batch of socket events at least), inside a dispatch so its replies are flushed.
   */
  afterReceived(work: () => void): void {
    queueMicrotask(() => this.#enter(work));
  }

  /** Arrow's SetOptions: gives the client a quota (see quota_policy.ts); false when refused. */
  setClientQuota(client: StoreClient, name: string, quotaBytes: number): boolean {
    return this.#quota.setQuota(client.id, name, quotaBytes);
  }

  /** Arrow's debug string: the quota policy's lines over the shared LRU and the memory. */
  quotaDebugString(): string {
    const quotaVictims = this.#quota.victimsChosen;
    const counters = this.#stats.counters;
    return this.#quota.debugString({
      objects: this.#eviction.size,
      dataBytes: this.#eviction.dataBytes,
      evictions: counters.numObjectsEvicted - quotaVictims.objects,
      bytesEvicted: counters.numBytesEvicted - quotaVictims.bytes,
    }, {
      allocatedBytes: this.#memory.stats().allocatedBytes,
      pinnedBytes: counters.numBytesInUse,
    });
  }

  /** Starts sending events to `sink` (object added / deleted, store full, ...). */
  subscribe(sink: StoreEventSink): void {
    this.#events = sink;
  }

  /** Tells `watcher` about every object sealed or deleted from now on. */
  watch(watcher: ObjectWatcher): void {
    this.#watchers.add(watcher);
  }

  /** Every object in memory, sealed or not, in creation order. */
  objects(): IterableIterator<LocalObject> {
    return this.#lifecycle.values();
  }

  /** Counts a connected client (for stats). */
  clientConnected(_client: StoreClient): void {
    this.#clientCount++;
  }

  /** Creates now or fails now (try_immediately, CreateAndSeal, Arrow's creates). */
  createNow(
    client: StoreClient,
    request: CreateRequest,
    policy: CreatePolicy = RAY_CREATE_POLICY,
  ): LocalObject | Failure {
    const attempt = this.#attemptCreate(client, request, "now", policy);
    if (attempt !== "retry" && attempt !== "transient") return attempt;
    return { error: ErrorCode.OutOfMemory, message: this.#fullMessage(request) };
  }

  /** try_immediately: creates now or fails now, as the result to send. */
  createImmediately(client: StoreClient, request: CreateRequest): CreateResult {
    return createResult(request.objectId, 0, this.createNow(client, request));
  }

  /**
   * Queues a create for a client that waits for its reply (Arrow's, while a spill can make room):
   * the result goes to the output's createFinished; never a fallback file. With `inline` bytes the
   * object is written and sealed for the client before it is answered.
   */
  createAwaited(client: StoreClient, request: CreateRequest, inline: InlineObject | null): void {
    this.#creates.add(client, request, { awaited: true, allowFallback: false, inline });
    this.#creates.process();
  }

  /** Queues a create (FIFO) and serves the queue: its result if it finished at once, else its retry id. */
  createQueued(client: StoreClient, request: CreateRequest): CreateResult {
    const create = this.#creates.add(client, request);
    this.#creates.process();
    if (create.result !== undefined) return this.#claimCreate(create);
    return createResult(request.objectId, create.requestId, null);
  }

  /**
   * A CreateRetry: the result if finished; null when the answer is held (up to `longPollMs`) and
   * will go to the output's createFinished, with the result or with "ask again".
   */
  retryCreate(client: StoreClient, objectId: Uint8Array, requestId: number, longPollMs: number): CreateResult | null {
    const create = this.#creates.find(requestId, client);
    if (create === undefined || idKey(create.request.objectId) !== idKey(objectId)) {
      const failure = { error: ErrorCode.InvalidRequest, message: `unknown create request ${requestId}` };
      return createResult(objectId, 0, failure);
    }
    if (create.result !== undefined) return this.#claimCreate(create);
    if (create.retryTimer !== undefined) {
      clearTimeout(create.retryTimer);
      this.#output.createFinished(client, createResult(objectId, requestId, null));
    }
    create.retryTimer = setTimeout(() =>
      this.#enter(() => {
        create.retryTimer = undefined;
        this.#output.createFinished(client, createResult(objectId, requestId, null));
      }), longPollMs);
    return null;
  }

  /**
   * Writes an object's bytes (they arrived with the request) and seals it for its creator,
   * recording an Arrow client's digest; with `release` the creator's reference goes too.
   */
  fillAndSeal(client: StoreClient, object: LocalObject, bytes: ObjectBytes, digest: Uint8Array | null): ErrorCode {
    this.#memory.view(object.allocation, 0, bytes.data.length).set(bytes.data);
    this.#memory.view(object.allocation, bytes.data.length, bytes.metadata.length).set(bytes.metadata);
    return this.#sealObject(client, object, true, digest);
  }

  /**
   * Seals one object for its creator, recording the client's digest if it sent one (Arrow's);
   * optionally drops the creator's reference too.
   */
  seal(client: StoreClient, id: Uint8Array, release: boolean, digest: Uint8Array | null = null): ErrorCode {
    const object = this.#lifecycle.get(idKey(id));
    if (object === undefined) return ErrorCode.ObjectNonexistent;
    return this.#sealObject(client, object, release, digest);
  }

  #sealObject(client: StoreClient, object: LocalObject, release: boolean, digest: Uint8Array | null): ErrorCode {
    if (object.creatorId !== client.id) return ErrorCode.NotPermitted;
    if (object.sealed) return ErrorCode.ObjectSealed;
    if (digest !== null) object.digestKey = idKey(digest);
    this.#lifecycle.seal(object);
    if (release) this.#lifecycle.removeReference(object, client.objects);
    return ErrorCode.OK;
  }

  /** Discards an unsealed object; only its creator may. */
  abort(client: StoreClient, id: Uint8Array): ErrorCode {
    const object = this.#lifecycle.get(idKey(id));
    if (object === undefined) return ErrorCode.ObjectNonexistent;
    if (object.creatorId !== client.id) return ErrorCode.NotPermitted;
    if (object.sealed) return ErrorCode.ObjectSealed;
    this.#lifecycle.abort(object, client.objects);
    return ErrorCode.OK;
  }

  /**
   * Drops the client's reference (no-op when it holds none). An unsealed object cannot be
   * released: its creator's reference is what aborts it if the creator goes away.
   */
  release(client: StoreClient, id: Uint8Array): ErrorCode {
    const object = this.#lifecycle.get(idKey(id));
    if (object !== undefined && !object.sealed) return ErrorCode.ObjectNotSealed;
    if (object === undefined || !this.#lifecycle.removeReference(object, client.objects)) {
      return ErrorCode.ObjectNonexistent;
    }
    return ErrorCode.OK;
  }

  /** Deletes an object: its disk copy at once, its memory now or when it is released. */
  delete(id: Uint8Array): ErrorCode {
    const key = idKey(id);
    const object = this.#lifecycle.get(key);
    const onDisk = this.#spill?.delete(key) ?? false;
    if (object === undefined) return onDisk ? ErrorCode.OK : ErrorCode.ObjectNonexistent;
    return this.#lifecycle.delete(object);
  }

  /**
   * Evicts least recently used objects until `bytes` of data and metadata are gone (Arrow's
   * Evict request); returns the bytes evicted.
   */
  evictBySize(bytes: number): number {
    let freed = 0;
    for (const victim of this.#eviction.chooseBySize(bytes)) {
      freed += victim.sizeBytes;
      this.#lifecycle.evict(victim);
    }
    return freed;
  }

  /** Marks an object as just used (Arrow's RefreshLRU); unknown or unevictable ids are left alone. */
  refreshLru(id: Uint8Array): void {
    const object = this.#lifecycle.get(idKey(id));
    if (object === undefined) return;
    // The two lists link through the same fields: each object is refreshed in its own.
    if (this.#quota.owns(object)) this.#quota.refresh(object);
    else this.#eviction.refresh(object);
  }

  /** Whether a sealed copy exists, in memory or spilled. */
  contains(id: Uint8Array): boolean {
    const key = idKey(id);
    return this.#lifecycle.get(key)?.sealed === true || (this.#spill?.has(key) ?? false);
  }

  /**
   * Starts a get: its result if it finished at once, else null (the output's getFinished gets it
   * later). Spilled objects among its ids are restored, and waited for even at timeout 0.
   */
  /** What a new get of this client is checked against (see checkPendingGets). */
  pendingGetLoad(client: StoreClient): PendingGetLoad {
    return { clientGets: client.pendingGets, clientIds: client.pendingGetIds, storeIds: this.#gets.idCount };
  }

  get(client: StoreClient, ids: Uint8Array[], timeoutMs: number): GetResult | null {
    this.#stats.getRequested();
    const spill = this.#spill;
    if (spill !== null) {
      for (const id of ids) {
        const key = idKey(id);
        if (!this.#lifecycle.get(key) && spill.has(key)) spill.restore(key);
      }
    }
    const restoring = spill === null ? undefined : (key: string) => !this.#lifecycle.get(key)?.sealed && spill.has(key);
    const result = this.#gets.add(client, ids, { timeoutMs, restoring, restoreWaitMs: RESTORE_WAIT_MS_MAX });
    if (result === null && this.#events !== null) this.#announceWanted(ids, "get");
    return result;
  }

  /** Counts a client refused (and closed) because it would have held more than its share of clientMemory. */
  clientMemoryRefused(): void {
    this.#stats.counters.numClientMemoryRefusals++;
  }

  /** Counts a connection closed because serving it threw (the server contains store bugs per client). */
  serveErrorContained(): void {
    this.#stats.counters.numServeErrors++;
  }

  /**
   * Forgets a client: aborts what it left unsealed, drops its references, gets and creates; the
   * objects its quota owned join the shared LRU (now, or when released).
   */
  disconnect(client: StoreClient): void {
    this.#clientCount--;
    for (const object of this.#quota.clientDisconnected(client.id)) {
      if (this.#stats.isEvictable(object)) this.#eviction.evictableChanged(object, true);
    }
    this.#gets.removeClient(client);
    this.#creates.removeClient(client);
    for (const key of [...client.objects]) {
      const object = this.#lifecycle.get(key);
      if (object === undefined) throw new Error("a client references an object that is gone");
      if (!object.sealed && object.creatorId === client.id) this.#lifecycle.abort(object, client.objects);
      else this.#lifecycle.removeReference(object, client.objects);
    }
    if (client.objects.size !== 0) throw new Error("client references survived its disconnect");
  }

  snapshot(): StoreStats {
    const memory = this.#memory.stats();
    return {
      ...this.#stats.counters,
      capacityBytes: this.#memory.capacityBytes,
      allocatedBytes: memory.allocatedBytes,
      largestFreeBlockBytes: memory.largestFreeBlockBytes,
      numClients: this.#clientCount,
      numPendingGets: this.#gets.size,
      numQueuedCreates: this.#creates.size,
      clientMemoryBytes: this.clientMemory.heldBytes,
      ...this.transferStats,
    };
  }

  async close(): Promise<void> {
    this.#creates.close();
    this.#gets.close();
    if (this.#spillTimer !== undefined) clearInterval(this.#spillTimer);
    await this.#spill?.close();
    this.#memory.close();
  }

  #startSpilling(directory: string, ioPort: MessagePort | undefined): SpillManager {
    const spill = new SpillManager(directory, {
      lifecycle: this.#lifecycle,
      memory: this.#memory,
      stats: this.#stats,
      enter: this.#enter,
      ioPort,
    }, {
      memoryFreed: () => this.#memoryFreed(),
      allocateRestored: (spec) => this.#allocateRestored(spec),
      restored: (object) => {
        this.#events?.({ type: "objectRestored", objectIdHex: hex(object.id), sizeBytes: object.sizeBytes });
        this.#lifecycle.seal(object);
      },
      restoreFailed: (key, message) => this.#restoreFailed(key, message),
      spillFailed: (message) => this.#events?.({ type: "spillFailed", message }),
      spilled: (count, bytes, objects) =>
        this.#events?.({
          type: "objectsSpilled",
          count,
          bytes,
          objects: objects.map(({ id, dataSize, metadataSize, url }) => ({
            objectIdHex: hex(id),
            dataSize,
            metadataSize,
            url,
          })),
        }),
    });
    // Ray spills periodically too: objects released since the last seal become spillable.
    this.#spillTimer = setInterval(() => this.#enter(() => spill.maybeSpill()), SPILL_PERIOD_MS);
    return spill;
  }

  /** A restore failed: the gets waiting for it fail now (nothing waits for a deadline), counted, evented, logged. */
  #restoreFailed(key: string, message: string): void {
    this.#stats.counters.numRestoresFailed++;
    const objectIdHex = hex(keyBytes(key));
    const failure = {
      error: ErrorCode.UnexpectedError,
      message: `restore of object ${objectIdHex} failed: ${message}`,
    };
    const gets = this.#gets.objectFailed(key, failure);
    console.error(`plasma store: ${failure.message} (${gets} waiting gets answered with the error)`);
    this.#events?.({ type: "restoreFailed", objectIdHex, message });
  }

  /** Whether an object manager serves fetch and delete-everywhere (the store only forwards them). */
  get clusterMode(): boolean {
    return this.#clusterMode;
  }

  /** Cluster mode: asks the object manager to pull the absent ids without anyone waiting. */
  fetch(ids: Uint8Array[]): void {
    if (this.#events !== null) this.#announceWanted(ids, "fetch");
  }

  /** Cluster mode: asks the object manager to delete every other node's copy too. */
  deleteEverywhere(ids: Uint8Array[]): void {
    this.#events?.({ type: "deleteEverywhere", objectIdsHex: ids.map(hex) });
  }

  /** Tells the object manager which ids a waiting get (or a fetch) wants that are neither in memory nor on disk. */
  #announceWanted(ids: Uint8Array[], priority: "get" | "fetch"): void {
    const absent = ids.filter((id) => {
      const key = idKey(id);
      return this.#lifecycle.get(key) === undefined && !(this.#spill?.has(key) ?? false);
    });
    if (absent.length > 0) this.#events?.({ type: "objectsWanted", objectIdsHex: absent.map(hex), priority });
  }

  /**
   * One try at a create: memory; then evict LRU objects and try again; then (after the queue's
   * grace period, or at once for try_immediately) a fallback file. "retry": wait and ask again.
   */
  #attemptCreate(
    client: StoreClient,
    request: CreateRequest,
    mode: CreateMode,
    policy: CreatePolicy,
  ): LocalObject | Failure | "retry" | "transient" {
    const total = request.dataSize + request.metadataSize;
    const spec: NewObject = {
      id: request.objectId,
      key: idKey(request.objectId),
      dataSize: request.dataSize,
      metadataSize: request.metadataSize,
      source: request.source,
      creatorId: client.id,
    };
    if (this.#lifecycle.has(spec.key) || this.#spill?.has(spec.key)) {
      return { error: ErrorCode.ObjectExists, message: "" };
    }
    if (total > this.#memory.capacityBytes) {
      return { error: ErrorCode.OutOfMemory, message: this.#fullMessage(request) };
    }
    if (policy.evict && !this.#makeQuotaRoom(client, total)) {
      return { error: ErrorCode.OutOfMemory, message: `${mib(total)} exceeds the client's quota` };
    }
    let result = this.#lifecycle.create(spec);
    if (result === ErrorCode.OutOfMemory && policy.evict && this.#evict(this.#shortfall(total)) > 0) {
      result = this.#lifecycle.create(spec);
    }
    if (result === ErrorCode.OutOfMemory) {
      this.#events?.({
        type: "storeFull",
        requestedBytes: total,
        capacityBytes: this.#memory.capacityBytes,
        allocatedBytes: this.#memory.stats().allocatedBytes,
      });
      // A spill in flight will free memory: the queue's head waits without using up its grace.
      if (this.#spill?.spill() && mode !== "now") return "transient";
      if (mode === "queued") return "retry";
      if (!policy.fallback) return { error: ErrorCode.OutOfMemory, message: this.#fullMessage(request) };
      return this.#createInFallback(client, spec, request);
    }
    if (result === ErrorCode.ObjectExists) return { error: result, message: "" };
    this.#quota.objectCreated(client.id, result);
    this.#lifecycle.addReference(result, client.objects);
    return result;
  }

  /** Arrow's quota first: evicts within the client's quota; false when the object exceeds it. */
  #makeQuotaRoom(client: StoreClient, total: number): boolean {
    const room = this.#quota.makeRoom(client.id, total);
    if (!room.fits) return false;
    if (room.victims.length === 0) return true;
    // With spilling on, a primary copy is never evicted: it is only given up to the shared rules.
    const [evictable, kept] = partition(room.victims, (victim) => this.#stats.isEvictable(victim));
    kept.forEach((victim) => this.#quota.disown(victim));
    this.#evictObjects(evictable);
    return true;
  }

  /**
   * Bytes to free for an object of `total` bytes: what is missing (Ray's rule), or the whole size
   * when enough bytes are free but not in one piece.
   */
  #shortfall(total: number): number {
    const missing = this.#memory.stats().allocatedBytes + total - this.#memory.capacityBytes;
    return missing > 0 ? missing : total;
  }

  /** Memory came back: the create queue's head and waiting restores try again. */
  #memoryFreed(): void {
    if (this.#creates.size > 0) this.#creates.process();
    this.#spill?.retryRestores();
  }

  /** Room for a restored copy: memory, else after evicting; null when neither works now. */
  #allocateRestored(spec: NewObject): LocalObject | null {
    let result = this.#lifecycle.create(spec);
    const total = spec.dataSize + spec.metadataSize;
    if (result === ErrorCode.OutOfMemory && this.#evict(this.#shortfall(total)) > 0) {
      result = this.#lifecycle.create(spec);
    }
    return typeof result === "number" ? null : result;
  }

  /** Evicts least recently used objects for `bytesNeeded`; returns how many went. */
  #evict(bytesNeeded: number): number {
    const victims = this.#eviction.chooseVictims(bytesNeeded, this.#memory.capacityBytes);
    this.#evictObjects(victims);
    return victims.length;
  }

  /** Evicts while a create is being attempted: the memory freed does not re-enter the create queue. */
  #evictObjects(victims: LocalObject[]): void {
    this.#attempting = true;
    try {
      for (const victim of victims) this.#lifecycle.evict(victim);
    } finally {
      this.#attempting = false;
    }
  }

  /** The last resort: the object in a file of its own (OutOfDisk when that fails too). */
  #createInFallback(
    client: StoreClient,
    spec: NewObject,
    request: CreateRequest,
  ): LocalObject | Failure {
    if (this.#fallbackDirectory === "") {
      return { error: ErrorCode.OutOfMemory, message: `${this.#fullMessage(request)}; fallback allocation is off` };
    }
    const total = request.dataSize + request.metadataSize;
    const allocation = this.#memory.allocateFallback(total, this.#fallbackDirectory);
    if ("outOfDisk" in allocation) {
      return {
        error: ErrorCode.OutOfDisk,
        message: `${this.#fullMessage(request)}; no fallback: ${allocation.outOfDisk}`,
      };
    }
    const result = this.#lifecycle.create(spec, () => allocation);
    if (result === ErrorCode.ObjectExists || result === ErrorCode.OutOfMemory) {
      this.#memory.free(allocation);
      return { error: result, message: "" };
    }
    this.#lifecycle.addReference(result, client.objects);
    return result;
  }

  #fullMessage(request: CreateRequest): string {
    const total = request.dataSize + request.metadataSize;
    const { allocatedBytes } = this.#memory.stats();
    return `store is full: ${mib(total)} requested, ${mib(allocatedBytes)} of ${
      mib(this.#memory.capacityBytes)
    } in use`;
  }

  /** A queued create got its result: answer a client that waits, or one whose CreateRetry is held. */
  /** One try at the create queue's head; once its grace period is over, its end is logged. */
  #attemptQueued(create: QueuedCreate, mode: "queued" | "fallback"): CreateAttempt {
    const policy = { evict: true, fallback: create.options.allowFallback };
    const attempt = this.#attemptCreate(create.client, create.request, mode, policy);
    if (mode === "fallback") this.#logGraceOver(create, attempt);
    return attempt;
  }

  /** One line when a create waited out its grace period (a full store, or a spill disk that fails). */
  #logGraceOver(create: QueuedCreate, attempt: CreateAttempt): void {
    if (attempt === "transient" || (attempt instanceof LocalObject && !attempt.fallback)) return;
    const outcome = attempt === "retry"
      ? "fails with OutOfMemory"
      : attempt instanceof LocalObject
      ? "is placed in a fallback file"
      : `fails: ${ErrorCode[attempt.error]} ${attempt.message}`;
    clientErrorLog.line(
      "create-grace-over",
      `plasma store: create of ${hex(create.request.objectId)} waited its grace period; it ${outcome}`,
    );
  }

  #createFinished(create: QueuedCreate): void {
    if (create.options.awaited) {
      const result = this.#claimCreate(create);
      return this.#output.createFinished(create.client, result);
    }
    if (create.retryTimer !== undefined) this.#output.createFinished(create.client, this.#claimCreate(create));
  }

  /** Takes a finished create's result off the queue's books (writing and sealing an inline object first). */
  #claimCreate(create: QueuedCreate): CreateResult {
    const result = create.result!;
    this.#creates.claim(create);
    const { objectId } = create.request;
    const inline = create.options.inline;
    if ("error" in result) {
      const message = result.message ||
        (result.error === ErrorCode.OutOfMemory ? this.#fullMessage(create.request) : "");
      return { ...createResult(objectId, 0, { error: result.error, message }), inline: inline !== null };
    }
    if (inline === null) return createResult(objectId, 0, result);
    const error = this.fillAndSeal(create.client, result, inline, inline.digest);
    return { ...createResult(objectId, 0, error === ErrorCode.OK ? null : { error, message: "" }), inline: true };
  }

  #objectDeleted(object: LocalObject): void {
    for (const watcher of this.#watchers) watcher.deleted(object);
    this.#events?.({ type: "objectDeleted", objectIdHex: hex(object.id) });
  }

  #objectSealed(object: LocalObject): void {
    for (const watcher of this.#watchers) watcher.sealed(object);
    this.#gets.objectSealed(object);
    this.#spill?.maybeSpill();
    this.#events?.({
      type: "objectAdded",
      objectIdHex: hex(object.id),
      dataSize: object.dataSize,
      metadataSize: object.metadataSize,
      source: ObjectSource[object.source],
    });
  }
}

/** A create's result: the object, a failure, or (neither) a queued create to ask about again. */
function createResult(objectId: Uint8Array, retryId: number, outcome: LocalObject | Failure | null): CreateResult {
  if (outcome === null) return { objectId, retryId, object: null, error: ErrorCode.OK, message: "", inline: false };
  if ("error" in outcome) {
    return { objectId, retryId, object: null, error: outcome.error, message: outcome.message, inline: false };
  }
  return { objectId, retryId, object: outcome, error: ErrorCode.OK, message: "", inline: false };
}

function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const passed: T[] = [];
  const failed: T[] = [];
  for (const item of items) (test(item) ? passed : failed).push(item);
  return [passed, failed];
}
