/**
 * The FIFO of creates that could not be served at once. The head is retried every
 * `fullDelayMs` while memory is short, for at most `oomGraceMs`; requests behind it wait their
 * turn (head-of-line order is kept). A finished request keeps its result until the client
 * claims it with CreateRetry. Invariant: each request finishes exactly once.
 * @module
 */
import { ErrorCode } from "../protocol/messages.ts";
import type { CreateRequest } from "../protocol/messages.ts";
import type { ClientSession } from "./client_session.ts";
import type { LocalObject } from "./local_object.ts";

/**
 * The outcome of one attempt: an object, a final error, "retry" (memory is short: the grace
 * period runs) or "transient" (a spill will free memory: wait without using up the grace period).
 */
export type CreateAttempt = LocalObject | { error: ErrorCode; message: string } | "retry" | "transient";

export class QueuedCreate {
  readonly requestId: number;
  readonly session: ClientSession;
  readonly request: CreateRequest;
  /** When the grace period started (restarted while a spill is in flight). */
  queuedAtMs = performance.now();
  result: LocalObject | { error: ErrorCode; message: string } | undefined;
  /** A CreateRetry is waiting for this request to finish (long poll). */
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Called with the result when the request finishes, for clients that wait for their reply
   * (Arrow's); null when the client asks again with CreateRetry (ours).
   */
  readonly onDone: ((create: QueuedCreate) => void) | null;
  /** Whether the request may end in a fallback file once its grace period is over. */
  readonly allowFallback: boolean;

  constructor(
    requestId: number,
    session: ClientSession,
    request: CreateRequest,
    options: CreateOptions,
  ) {
    this.requestId = requestId;
    this.session = session;
    this.request = { ...request, objectId: request.objectId.slice() };
    this.onDone = options.onDone;
    this.allowFallback = options.allowFallback;
  }
}

/** How a queued create ends: see {@linkcode QueuedCreate.onDone} and `allowFallback`. */
export interface CreateOptions {
  onDone: ((create: QueuedCreate) => void) | null;
  allowFallback: boolean;
}

export interface CreateQueueOptions {
  fullDelayMs: number;
  oomGraceMs: number;
}

export class CreateRequestQueue {
  readonly #queue: QueuedCreate[] = [];
  readonly #byId = new Map<number, QueuedCreate>();
  readonly #attempt: (create: QueuedCreate, mode: "queued" | "fallback") => CreateAttempt;
  readonly #finished: (create: QueuedCreate) => void;
  readonly #enter: (work: () => void) => void;
  readonly #options: CreateQueueOptions;
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
  }

  /** Requests waiting for memory. */
  get size(): number {
    return this.#queue.length;
  }

  add(
    session: ClientSession,
    request: CreateRequest,
    options: CreateOptions = { onDone: null, allowFallback: true },
  ): QueuedCreate {
    const create = new QueuedCreate(this.#nextRequestId++, session, request, options);
    this.#queue.push(create);
    this.#byId.set(create.requestId, create);
    session.queuedCreates++;
    return create;
  }

  /** A request of this session by id, finished or not. */
  find(requestId: number, session: ClientSession): QueuedCreate | undefined {
    const create = this.#byId.get(requestId);
    return create?.session === session ? create : undefined;
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
      const graceOver = performance.now() - head.queuedAtMs >= this.#options.oomGraceMs;
      const attempt = this.#attempt(head, graceOver ? "fallback" : "queued");
      if (attempt === "transient") {
        head.queuedAtMs = performance.now();
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
  removeSession(session: ClientSession): void {
    for (let index = this.#queue.length - 1; index >= 0; index--) {
      if (this.#queue[index].session === session) this.#queue.splice(index, 1);
    }
    for (const [requestId, create] of this.#byId) {
      if (create.session !== session) continue;
      if (create.retryTimer !== undefined) clearTimeout(create.retryTimer);
      this.#byId.delete(requestId);
    }
    session.queuedCreates = 0;
  }

  /** Stops the retry timer (store shutdown). */
  close(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    for (const create of this.#byId.values()) if (create.retryTimer !== undefined) clearTimeout(create.retryTimer);
  }

  #finish(create: QueuedCreate, result: LocalObject | { error: ErrorCode; message: string }): void {
    if (this.#queue[0] !== create) throw new Error("finishing a create that is not at the head");
    this.#queue.shift();
    create.session.queuedCreates--;
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
