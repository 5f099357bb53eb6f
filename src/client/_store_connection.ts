/**
 * The client's side of one connection: a request goes out with one blocking write; its reply is
 * read synchronously when the store answers at once, or awaited on a native thread when it may
 * wait (gets with a timeout, create retries). Chunks are mapped once per fd, populated.
 * Invariant: one request is in flight at a time, and an fd is read exactly when a reply says one follows.
 * @module
 */
import { FrameConnection } from "../../ffi/frame_connection.ts";
import { closeFd, SharedMemoryChunk } from "../../ffi/shared_memory.ts";
import { Status, statusName } from "../../ffi/status.ts";
import { connectUnix } from "../../ffi/unix_socket.ts";
import { decodeErrorReply } from "../protocol/decode.ts";
import { COOKIE, COOKIE_HIGH, COOKIE_LOW, REPLY_BYTES_MAX } from "../protocol/frame.ts";
import { MessageType } from "../protocol/messages.ts";
import type { ChunkRef } from "../protocol/messages.ts";
import { ConnectionClosedError, errorFromCode, StoreError } from "./errors.ts";

/** How long a reply that may wait is polled for synchronously before the wait moves off-thread. */
const SPIN_BEFORE_AWAIT_MS = 0.2;
/** How long a reply the store answers at once is polled for before the thread blocks. */
const CALL_SPIN_MS_MAX = 0.03;
/** A poll shorter than this is not worth it. */
const CALL_SPIN_MS_MIN = 0.005;
/** After polling stopped paying off, try it again once per this many calls. */
const SPIN_PROBE_CALLS = 64;

export class StoreConnection {
  readonly #connection: FrameConnection;
  readonly #chunks = new Map<number, SharedMemoryChunk>();
  #lock: Promise<void> | null = null;
  #closed = false;
  #spinMs = CALL_SPIN_MS_MAX;
  #callsSinceProbe = 0;

  private constructor(connection: FrameConnection) {
    this.#connection = connection;
  }

  /** Connects, retrying while the socket is missing or refusing (a store still starting). */
  static async open(socketPath: string, retries: number, retryDelayMs: number): Promise<StoreConnection> {
    for (let attempt = 0;; attempt++) {
      try {
        const fd = connectUnix(socketPath);
        return new StoreConnection(FrameConnection.adopt(fd, { payloadBytesMax: REPLY_BYTES_MAX }));
      } catch (error) {
        if (attempt >= retries) {
          // The native status (not_found, connection_refused, permission_denied) stays reachable as the cause.
          throw Object.assign(
            new ConnectionClosedError(`Cannot connect to the store at ${socketPath}: ${(error as Error).message}`),
            { cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      }
    }
  }

  /**
   * Runs `work` with the connection to itself (requests never interleave). Work that finishes
   * synchronously (a request the store answers at once) takes no lock and makes no extra Promise.
   */
  exclusive<T>(work: () => T | Promise<T>): Promise<T> {
    if (this.#lock) return this.#afterLock(work);
    let result: T | Promise<T>;
    try {
      result = work();
    } catch (error) {
      return Promise.reject(error);
    }
    if (!(result instanceof Promise)) return Promise.resolve(result);
    const settled = result.then(() => {}, () => {});
    this.#lock = settled;
    void settled.then(() => {
      if (this.#lock === settled) this.#lock = null;
    });
    return result;
  }

  async #afterLock<T>(work: () => T | Promise<T>): Promise<T> {
    while (this.#lock) await this.#lock;
    return await this.exclusive(work);
  }

  /** Sends a request that expects no reply; queued requests go out with it in one write. */
  send(type: MessageType, payload: Uint8Array): void {
    this.#check(this.#connection.write(COOKIE, type, payload, -1), "send a request");
  }

  /** Sends a request and reads its reply synchronously: for requests the store answers at once. */
  call(type: MessageType, payload: Uint8Array, replyType: MessageType): Uint8Array {
    this.send(type, payload);
    this.#check(this.#readReply(), "read a reply");
    return this.#replyPayload(replyType);
  }

  /**
   * A reply from a store that is awake comes within microseconds: polling for it briefly saves
   * this thread a sleep and a cross-CPU wake-up. The poll is adaptive: when replies stop arriving
   * within it (a busy store, many clients sharing few cores) it shrinks to nothing, so waiting
   * costs no CPU that the store needs; every SPIN_PROBE_CALLS calls it tries again.
   */
  #readReply(): number {
    const started = performance.now();
    let status = this.#connection.read(0);
    const probing = this.#spinMs === 0 && ++this.#callsSinceProbe % SPIN_PROBE_CALLS === 0;
    const spinMs = probing ? CALL_SPIN_MS_MAX : this.#spinMs;
    while (status === Status.would_block && performance.now() - started < spinMs) status = this.#connection.read(0);
    if (status !== Status.would_block) {
      if (spinMs > 0) this.#spinMs = CALL_SPIN_MS_MAX;
      return status;
    }
    // A miss halves the poll; a few misses in a row switch it off until the next probe.
    this.#spinMs = this.#spinMs / 2 < CALL_SPIN_MS_MIN ? 0 : this.#spinMs / 2;
    return this.#connection.read(-1);
  }

  /** Sends a request whose reply may take a while, without blocking the event loop meanwhile. */
  async callWaiting(type: MessageType, payload: Uint8Array, replyType: MessageType): Promise<Uint8Array> {
    this.send(type, payload);
    const spinUntil = performance.now() + SPIN_BEFORE_AWAIT_MS;
    let status = this.#connection.read(0);
    while (status === Status.would_block && performance.now() < spinUntil) status = this.#connection.read(0);
    while (status === Status.would_block) {
      await this.#connection.waitReadable(-1);
      if (this.#closed) throw new ConnectionClosedError("The client was closed while waiting for the store");
      status = this.#connection.read(0);
    }
    this.#check(status, "read a reply");
    return this.#replyPayload(replyType);
  }

  /** Receives the fds a reply announced and maps their chunks (once per chunk). */
  receiveChunks(refs: ChunkRef[]): void {
    for (const ref of refs) {
      if (!ref.fdFollows) {
        if (!this.#chunks.has(ref.uniqueFdId)) {
          throw new StoreError("ProtocolError", `chunk ${ref.uniqueFdId} was never sent`);
        }
        continue;
      }
      const fd = this.#connection.takeFd(-1);
      // Fallback chunks come with every reply; keep the mapping already in use.
      if (this.#chunks.has(ref.uniqueFdId)) {
        closeFd(fd);
        continue;
      }
      this.#chunks.set(ref.uniqueFdId, SharedMemoryChunk.map(fd, ref.mmapSize, { populate: true, adopt: true }));
    }
  }

  /** Unmaps a chunk this client no longer needs (a fallback object's file, once released). */
  dropChunk(uniqueFdId: number): void {
    this.#chunks.get(uniqueFdId)?.close();
    this.#chunks.delete(uniqueFdId);
  }

  /** The mapped chunk with this unique id. */
  chunk(uniqueFdId: number): SharedMemoryChunk {
    const chunk = this.#chunks.get(uniqueFdId);
    if (chunk === undefined) throw new StoreError("ProtocolError", `chunk ${uniqueFdId} is not mapped`);
    return chunk;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Queued releases still reach the store (it would drop them on disconnect anyway).
    this.#connection.flush(0);
    this.#connection.close();
    for (const chunk of this.#chunks.values()) chunk.close();
    this.#chunks.clear();
  }

  #replyPayload(replyType: MessageType): Uint8Array {
    const connection = this.#connection;
    if (!connection.cookieIs(COOKIE_LOW, COOKIE_HIGH)) throw new StoreError("ProtocolError", "reply with a bad cookie");
    if (connection.type === MessageType.ErrorReply) {
      const reply = decodeErrorReply(connection.payload());
      throw errorFromCode(reply.error, `The store refused the request: ${reply.message}`);
    }
    if (connection.type !== replyType) {
      throw new StoreError("ProtocolError", `expected reply type ${MessageType[replyType]}, got ${connection.type}`);
    }
    return connection.payload();
  }

  #check(status: number, what: string): void {
    if (status === Status.ok) return;
    if (this.#closed) throw new ConnectionClosedError(`Cannot ${what}: the client is closed`);
    throw new ConnectionClosedError(`Cannot ${what}: the connection to the store failed (${statusName(status)})`);
  }
}
