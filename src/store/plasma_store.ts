/**
 * The store's state and operations, independent of sockets: memory, the object lifecycle, the get
 * and create queues, stats. Handlers (handlers.ts) decode requests and call these methods.
 * @module
 */
import { encodeCreateReply, encodeGetReply } from "../protocol/encode.ts";
import { ErrorCode, MessageType, ObjectSource } from "../protocol/messages.ts";
import type { CreateRequest, StoreStats } from "../protocol/messages.ts";
import { idKey } from "../protocol/object_id.ts";
import type { ClientSession } from "./client_session.ts";
import { CreateRequestQueue, type QueuedCreate } from "./create_request_queue.ts";
import { GetRequestQueue, type PendingGet } from "./get_request_queue.ts";
import { type ChunkInfo, type LocalObject, MISSING_SPEC } from "./local_object.ts";
import { ObjectLifecycle } from "./object_lifecycle.ts";
import { StatsCollector } from "./stats_collector.ts";
import type { StoreEventSink } from "./store_events.ts";
import { StoreMemory, type StoreMemoryOptions } from "./store_memory.ts";

/** Everything the store needs to start. */
export interface PlasmaStoreOptions extends StoreMemoryOptions {
  fullDelayMs: number;
  oomGraceMs: number;
}

export class PlasmaStore {
  readonly memory: StoreMemory;
  readonly stats: StatsCollector;
  readonly lifecycle: ObjectLifecycle;
  readonly gets: GetRequestQueue;
  readonly creates: CreateRequestQueue;
  /** Null until someone listens: events cost nothing when nobody wants them. */
  #events: StoreEventSink | null;
  readonly #enter: (work: () => void) => void;
  clientCount = 0;

  /**
   * @param enter runs work from timers inside the server's dispatch, so replies get flushed
   */
  constructor(options: PlasmaStoreOptions, events: StoreEventSink | null, enter: (work: () => void) => void) {
    this.memory = new StoreMemory(options);
    this.stats = new StatsCollector({ spillingEnabled: false });
    this.#events = events;
    this.#enter = enter;
    this.lifecycle = new ObjectLifecycle(this.memory, this.stats, {
      objectSealed: (object) => this.#objectSealed(object),
      objectDeleted: (object) => this.#events?.({ type: "objectDeleted", objectIdHex: hex(object.id) }),
      memoryFreed: () => this.creates.size > 0 && this.creates.process(),
    });
    this.gets = new GetRequestQueue(this.lifecycle, (get) => this.#answerGet(get), enter);
    this.creates = new CreateRequestQueue(
      (create) => this.#attemptCreate(create.session, create.request),
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
  createNow(session: ClientSession, request: CreateRequest): LocalObject | { error: ErrorCode; message: string } {
    const attempt = this.#attemptCreate(session, request);
    if (attempt !== "retry") return attempt;
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

  /** Seals one object for its creator; optionally drops the creator's reference too. */
  seal(session: ClientSession, id: Uint8Array, release: boolean): ErrorCode {
    const object = this.lifecycle.get(idKey(id));
    if (object === undefined) return ErrorCode.ObjectNonexistent;
    if (object.creatorId !== session.id) return ErrorCode.NotPermitted;
    if (object.sealed) return ErrorCode.ObjectSealed;
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

  /** Drops the client's reference (no-op when it holds none). */
  release(session: ClientSession, id: Uint8Array): ErrorCode {
    const object = this.lifecycle.get(idKey(id));
    if (object === undefined || !this.lifecycle.removeReference(object, session.objects)) {
      return ErrorCode.ObjectNonexistent;
    }
    return ErrorCode.OK;
  }

  delete(id: Uint8Array): ErrorCode {
    const object = this.lifecycle.get(idKey(id));
    return object === undefined ? ErrorCode.ObjectNonexistent : this.lifecycle.delete(object);
  }

  contains(id: Uint8Array): boolean {
    return this.lifecycle.get(idKey(id))?.sealed === true;
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
    };
  }

  close(): void {
    this.creates.close();
    this.memory.close();
  }

  #attemptCreate(
    session: ClientSession,
    request: CreateRequest,
  ): LocalObject | { error: ErrorCode; message: string } | "retry" {
    const total = request.dataSize + request.metadataSize;
    const key = idKey(request.objectId);
    const result = this.lifecycle.create({
      id: request.objectId,
      key,
      dataSize: request.dataSize,
      metadataSize: request.metadataSize,
      source: request.source,
      creatorId: session.id,
    });
    if (result === ErrorCode.ObjectExists) return { error: result, message: "" };
    if (result === ErrorCode.OutOfMemory) {
      const stats = this.memory.stats();
      this.#events?.({
        type: "storeFull",
        requestedBytes: total,
        capacityBytes: this.memory.capacityBytes,
        allocatedBytes: stats.allocatedBytes,
      });
      if (total > this.memory.capacityBytes) {
        return { error: ErrorCode.OutOfMemory, message: this.#fullMessage(request) };
      }
      return "retry";
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
    const chunk = object === null ? null : session.chunkRefs([object.chunk])[0];
    session.send(
      MessageType.CreateReply,
      encodeCreateReply({
        objectId,
        retryWithRequestId: retryId,
        spec: object?.spec() ?? null,
        chunk,
        error,
        message,
      }),
    );
    if (chunk) session.sendFds([chunk]);
  }

  #objectSealed(object: LocalObject): void {
    this.gets.objectSealed(object);
    this.#events?.({
      type: "objectAdded",
      objectIdHex: hex(object.id),
      dataSize: object.dataSize,
      metadataSize: object.metadataSize,
      source: ObjectSource[object.source],
    });
  }

  #answerGet(get: PendingGet): void {
    const chunks = new Map<number, ChunkInfo>();
    for (const object of get.found) if (object) chunks.set(object.chunk.id, object.chunk);
    const refs = get.session.chunkRefs(chunks.values());
    get.session.send(
      MessageType.GetReply,
      encodeGetReply({
        objectIds: get.ids,
        specs: get.found.map((object) => object?.spec() ?? MISSING_SPEC),
        chunks: refs,
      }),
    );
    get.session.sendFds(refs);
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
