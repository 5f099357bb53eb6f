/**
 * The FIFO of creates that could not be served at once. The head is retried every
 * `fullDelayMs` while memory is short, for at most `oomGraceMs`; requests behind it wait their
 * turn (head-of-line order is kept); while a spill is in flight the head waits without using up
 * its grace ("transient"). A finished request keeps its result until it is claimed (a CreateRetry,
 * or the store answering a client that waits). Invariant: each request finishes exactly once.
 * @module
 */
import { ErrorCode } from "../protocol/messages.ts";
import type { CreateRequest } from "../protocol/messages.ts";
import type { LocalObject } from "./local_object.ts";
import type { StoreClient } from "./store_client.ts";
import type { Failure } from "./store_output.ts";

/**
 * The outcome of one attempt: an object, a final failure, "retry" (memory is short: the grace
 * period runs) or "transient" (a spill will free memory: wait without using up the grace period).
 */
export type CreateAttempt = LocalObject | Failure | "retry" | "transient";

/** Bytes that arrived with the request (Arrow's CreateAndSeal): written and sealed once created. */
export interface InlineObject {
  data: Uint8Array;
  metadata: Uint8Array;
  digest: Uint8Array | null;
}

/** How a queued create ends. */
export interface CreateOptions {
  /** The client waits for its reply (Arrow's) rather than asking again with CreateRetry (ours). */
  awaited: boolean;
  /** Whether the request may end in a fallback file once its grace period is over. */
  allowFallback: boolean;
  /** The object's bytes, kept while waiting (the frame buffer is reused); null for a plain create. */
  inline: InlineObject | null;
}

export class QueuedCreate {
  readonly requestId: number;
  readonly client: StoreClient;
  readonly request: CreateRequest;
  readonly options: CreateOptions;
  /** When the grace period started (restarted while a spill is in flight). */
  queuedAtMs: number;
  result: LocalObject | Failure | undefined;
  /** A CreateRetry is waiting for this request to finish (long poll). */
  retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(requestId: number, client: StoreClient, request: CreateRequest, options: CreateOptions, nowMs: number) {
    this.requestId = requestId;
    this.client = client;
    this.request = { ...request, objectId: request.objectId.slice() };
    this.options = options;
    this.queuedAtMs = nowMs;
  }
}

/** The queue's timing, and its clock (tests pass a fake one). */
export interface CreateQueueOptions {
  fullDelayMs: number;
  oomGraceMs: number;
  now?: () => number;
}

const PLAIN_CREATE: CreateOptions = { awaited: false, allowFallback: true, inline: null };

export class CreateRequestQueue {
  readonly #queue: QueuedCreate[] = [];
  readonly #byId = new Map<number, QueuedCreate>();
  readonly #attempt: (create: QueuedCreate, mode: "queued" | "fallback") => CreateAttempt;
  readonly #finished: (create: QueuedCreate) => void;
  readonly #enter: (work: () => void) => void;
  readonly #options: CreateQueueOptions;
  readonly #now: () => number;
  #nextRequestId = 1;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param attempt tries to create the head's object now ("fallback" once its grace period is over)
   * @param finished told when a request gets its result
   * @param enter runs timer work inside the store's dispatch
   */
  constructor(
    attempt: (create: QueuedCreate, mode: "queued" | "fallback") => CreateAttempt,
    finished: (create: QueuedCreate) => void,
    enter: (work: () => void) => void,
    options: CreateQueueOptions,
  ) {
    this.#attempt = attempt;
    this.#finished = finished;
    this.#enter = enter;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Requests waiting for memory. */
  get size(): number {
    return this.#queue.length;
  }

  add(client: StoreClient, request: CreateRequest, options: CreateOptions = PLAIN_CREATE): QueuedCreate {
    const create = new QueuedCreate(this.#nextRequestId++, client, request, options, this.#now());
    this.#queue.push(create);
    this.#byId.set(create.requestId, create);
    client.queuedCreates++;
    return create;
  }

  /** A request of this client by id, finished or not. */
  find(requestId: number, client: StoreClient): QueuedCreate | undefined {
    const create = this.#byId.get(requestId);
    return create?.client === client ? create : undefined;
  }

  /** Forgets a finished request once its result was sent. */
  claim(create: QueuedCreate): void {
    if (create.result === undefined) throw new Error("claiming an unfinished create");
    if (create.retryTimer !== undefined) clearTimeout(create.retryTimer);
    create.retryTimer = undefined;
    this.#byId.delete(create.requestId);
  }

  /** Serves requests from the head while they can be served. */
  process(): void {
    while (this.#queue.length > 0) {
      const head = this.#queue[0];
      const graceOver = this.#now() - head.queuedAtMs >= this.#options.oomGraceMs;
      const attempt = this.#attempt(head, graceOver ? "fallback" : "queued");
      if (attempt === "transient") {
        head.queuedAtMs = this.#now();
        return this.#scheduleRetry();
      }
      if (attempt === "retry") {
        if (!graceOver) return this.#scheduleRetry();
        this.#finish(head, { error: ErrorCode.OutOfMemory, message: "" });
        continue;
      }
      this.#finish(head, attempt);
    }
  }

  /** Drops everything of a disconnected client. */
  removeClient(client: StoreClient): void {
    for (let index = this.#queue.length - 1; index >= 0; index--) {
      if (this.#queue[index].client === client) this.#queue.splice(index, 1);
    }
    for (const [requestId, create] of this.#byId) {
      if (create.client !== client) continue;
      if (create.retryTimer !== undefined) clearTimeout(create.retryTimer);
      this.#byId.delete(requestId);
    }
    client.queuedCreates = 0;
  }

  /** Stops the retry timers (store shutdown). */
  close(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    for (const create of this.#byId.values()) if (create.retryTimer !== undefined) clearTimeout(create.retryTimer);
  }

  #finish(create: QueuedCreate, result: LocalObject | Failure): void {
    if (this.#queue[0] !== create) throw new Error("finishing a create that is not at the head");
    if (create.result !== undefined) throw new Error("finishing a create twice");
    this.#queue.shift();
    create.client.queuedCreates--;
    create.result = result;
    this.#finished(create);
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#enter(() => this.process());
    }, this.#options.fullDelayMs);
  }
}
