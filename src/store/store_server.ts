/**
 * The store's network side: listens on the Unix socket, accepts clients, picks each connection's
 * dialect from its first frame, drains frames through that dialect's handler table and flushes
 * replies, all on one thread driven by the EventLoop.
 * Invariant: a failure of one client's stream closes that client only; so does a bug in the store
 * met while serving it (any other error thrown then): logged with its stack, counted, contained.
 * @module
 */
import { FrameConnection, RECEIVE_BUFFER_BYTES_INITIAL } from "../../ffi/frame_connection.ts";
import { EVENT_WRITABLE, Poller } from "../../ffi/poller.ts";
import { closeFd } from "../../ffi/shared_memory.ts";
import { NativeError, Status, statusName } from "../../ffi/status.ts";
import { acceptUnix, listenUnix, peerCredentials } from "../../ffi/unix_socket.ts";
import { EventLoop } from "../net/event_loop.ts";
import { loopWaitFromEnvironment } from "../net/loop_tuning.ts";
import { REPLY_BYTES_MAX } from "../protocol/frame.ts";
import { ErrorCode } from "../protocol/messages.ts";
import { VerificationError } from "../protocol/verifier.ts";
import { clientErrorLog } from "../log/rate_limited_log.ts";
import { type AccessOptions, AccessPolicy } from "./access_policy.ts";
import { ARROW_DIALECT } from "./arrow/arrow_dialect.ts";
import { FRAMES_PER_SLICE, ServiceQueue, SLICE_MS_MAX, UNREAD_REPLY_BYTES_MAX } from "./fair_service.ts";
import { ClientSession, DirtySessions } from "./client_session.ts";
import { budgetRefusalMessage } from "./client_memory_budget.ts";
import { CONNECTIONS_MAX, LOOP_BLOCK_MS_DEFAULT, LOOP_WAIT_STRATEGY_DEFAULT } from "./constants.ts";
import type { Dialect } from "./dialect.ts";
import { IdleHeapTrim, MemoryRelease } from "./idle_heap_trim.ts";
import { PlasmaStore, type PlasmaStoreOptions } from "./plasma_store.ts";
import { RAY_DIALECT } from "./ray_dialect.ts";
import type { StoreClient } from "./store_client.ts";
import type { StoreEventSink } from "./store_events.ts";
import type { CreateResult, GetResult, StoreOutput } from "./store_output.ts";
import { RequestError } from "./validation.ts";

/** The dialects a connection may speak, told apart by the first 8 bytes of its first frame. */
const DIALECTS: readonly Dialect[] = [RAY_DIALECT, ARROW_DIALECT];

const LISTEN_TOKEN = 0;
/**
 * Requests this large (inline object data) are read in place, so the store gives their memory
 * back as soon as they are served; smaller ones (a 10,000-id get is ~300 KiB) are copied.
 */
const LEND_FRAME_BYTES_MIN = 1024 * 1024;

/** Where and how the server listens, plus the store's own options. */
export interface StoreServerOptions extends PlasmaStoreOptions {
  socketPath: string;
  /** Permission bits of the socket file (default 0o600). */
  socketMode?: number;
  /** Which peers may connect (default: anyone who can open the socket file). */
  access?: AccessOptions;
  /** How long the loop keeps polling after the last event before it sleeps (see EventLoop). */
  spinMicros?: number;
  /**
   * A socket already listening at socketPath, which the server then owns (the runner binds it
   * before the store's Worker boots, so clients can connect at once; their requests wait).
   */
  listenFd?: number;
}

/** The server's side of the core's output: answers of requests that waited go out in the client's dialect. */
class SessionOutput implements StoreOutput {
  readonly #sessions: ReadonlyMap<number, ClientSession<Dialect>>;

  constructor(sessions: ReadonlyMap<number, ClientSession<Dialect>>) {
    this.#sessions = sessions;
  }

  createFinished(client: StoreClient, result: CreateResult): void {
    // A client that disconnected meanwhile is not answered (the core forgot its requests).
    const session = this.#sessions.get(client.id);
    if (session !== undefined) session.dialect!.sendCreateReply(session, result);
  }

  getFinished(client: StoreClient, result: GetResult): void {
    const session = this.#sessions.get(client.id);
    if (session !== undefined) session.dialect!.sendGetReply(session, result);
  }
}

export class StoreServer {
  readonly store: PlasmaStore;
  readonly socketPath: string;
  readonly #poller = new Poller();
  readonly #listenFd: number;
  readonly #loop: EventLoop;
  readonly #sessions = new Map<number, ClientSession<Dialect>>();
  readonly #dirty = new DirtySessions<ClientSession<Dialect>>();
  readonly #flushOne = (session: ClientSession<Dialect>) => this.#flush(session);
  readonly #access: AccessPolicy;
  /**
   * Connections that used up their slice with frames left: served round-robin, a slice a turn,
   * their reads not watched meanwhile (watched again when they leave).
   */
  readonly #backlog = new ServiceQueue<ClientSession<Dialect>>((session) => {
    if (this.#sessions.has(session.id)) this.#watch(session);
  });
  /** Connections whose input is not read until they read their replies. */
  readonly #readsPaused = new Set<ClientSession<Dialect>>();
  /** Connections whose receive buffer grew past its initial size: charged to the client memory budget. */
  readonly #charged = new Set<ClientSession<Dialect>>();
  /** Gives garbage and free heap pages back once the loop has slept a while (after a burst). */
  readonly #memoryRelease = new MemoryRelease();
  readonly #heapTrim = new IdleHeapTrim({
    trim: () => this.#memoryRelease.release(),
    activity: () => this.#loop.counters.events,
  });
  #nextToken = 1;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: StoreServerOptions, events: StoreEventSink | null = null) {
    this.socketPath = options.socketPath;
    this.#access = new AccessPolicy(options.access, Deno.uid() ?? 0);
    const enter = (work: () => void) => this.#enter(work);
    this.store = new PlasmaStore(options, { output: new SessionOutput(this.#sessions), events, enter });
    try {
      this.#listenFd = options.listenFd ?? listenUnix(options.socketPath, { mode: options.socketMode ?? 0o600 });
    } catch (error) {
      void this.store.close();
      throw error;
    }
    this.#poller.add(this.#listenFd, LISTEN_TOKEN);
    this.#loop = new EventLoop(this.#poller, (token, flags) => this.#onEventEntered(token, flags), {
      strategy: LOOP_WAIT_STRATEGY_DEFAULT,
      spinMicros: options.spinMicros,
      backlog: (pollNow) => this.#serveBacklog(pollNow),
      awaiting: () => this.store.awaitingSpillIo,
      idle: () => this.#heapTrim.loopIdle(),
      blockMs: LOOP_BLOCK_MS_DEFAULT,
      ...loopWaitFromEnvironment(),
    });
  }

  /** Starts serving; the promise settles when the server stops (or a store bug throws). */
  start(): Promise<void> {
    this.#running ??= this.#loop.start();
    return this.#running;
  }

  /** Times memory was released after the loop went quiet (see {@linkcode IdleHeapTrim}). */
  get heapTrims(): number {
    return this.#heapTrim.trims;
  }

  /** Number of connected clients. */
  get clientCount(): number {
    return this.#sessions.size;
  }

  /** Stops accepting, closes every client, removes the socket file and frees the memory. Safe twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#loop.stop();
    this.#heapTrim.close();
    for (const session of [...this.#sessions.values()]) this.#close(session);
    closeFd(this.#listenFd);
    await Deno.remove(this.socketPath).catch(() => {});
    await this.store.close();
    await this.#poller.close();
  }

  /** Runs work, then flushes every client it queued replies for. */
  #enter(work: () => void): void {
    if (this.#stopped) return;
    try {
      work();
    } finally {
      this.#flushDirty();
    }
  }

  /** {@linkcode #enter} for one event, without a closure per event (the loop's hottest call). */
  #onEventEntered(token: number, flags: number): void {
    if (this.#stopped) return;
    try {
      this.#onEvent(token, flags);
    } finally {
      this.#flushDirty();
    }
  }

  #flushDirty(): void {
    this.#dirty.flushEach(this.#flushOne);
  }

  #onEvent(token: number, flags: number): void {
    if (token === LISTEN_TOKEN) return this.#acceptAll();
    const session = this.#sessions.get(token);
    if (session === undefined) return;
    if (flags & EVENT_WRITABLE) this.#flush(session);
    // A connection in the backlog gets its next slice in turn, not an extra one now.
    if (!this.#backlog.has(session) && this.#drainContained(session)) this.#toBacklog(session);
  }

  /**
   * One slice for each connection in the backlog, looking for new requests between two slices
   * (`pollNow`); whether any connection still has frames left.
   */
  #serveBacklog(pollNow: () => void): boolean {
    if (this.#backlog.size === 0) return false;
    let left = false;
    this.#enter(() => {
      left = this.#backlog.serveRound(
        (session) => this.#sessions.has(session.id) && this.#drainContained(session),
        pollNow,
      );
    });
    return left;
  }

  #toBacklog(session: ClientSession<Dialect>): void {
    this.#backlog.add(session);
    this.#watch(session);
  }

  #acceptAll(): void {
    for (let fd = acceptUnix(this.#listenFd); fd !== null; fd = acceptUnix(this.#listenFd)) {
      const peer = peerCredentials(fd);
      if (!this.#access.allows(peer)) {
        closeFd(fd);
        clientErrorLog.line(
          "refused a connection",
          `plasma store: refused a connection from pid ${peer.pid} (uid ${peer.uid}, gid ${peer.gid}): ` +
            "not in --allow-uid / --allow-gid",
        );
        continue;
      }
      const connection = FrameConnection.adopt(fd, {
        payloadBytesMax: this.store.requestBytesMax,
        sendPayloadBytesMax: REPLY_BYTES_MAX,
        // Handlers copy what they keep past their dispatch (see the Arrow CreateAndSeal that waits).
        lendFramesFromBytes: LEND_FRAME_BYTES_MIN,
      });
      // Growing past the initial buffer asks the client memory budget first (see #growReceive).
      connection.allowReceiveBytes(RECEIVE_BUFFER_BYTES_INITIAL);
      const session = new ClientSession<Dialect>(this.#nextToken++, connection, peer.pid, this.#dirty);
      if (this.#sessions.size >= CONNECTIONS_MAX) {
        this.#refuse(session, -1, ErrorCode.InvalidRequest, `the store has ${CONNECTIONS_MAX} clients, its limit`);
        session.flush();
        connection.close();
        continue;
      }
      this.#sessions.set(session.id, session);
      this.store.clientConnected(session);
      this.#poller.add(fd, session.id);
    }
  }

  /**
   * Serves up to one slice of the connection's frames; returns whether frames may be left (then
   * it belongs in the backlog). A client with too many unread replies is paused instead.
   */
  #drain(session: ClientSession<Dialect>): boolean {
    // A session closed earlier in this dispatch (its flush failed) has nothing left to serve.
    if (!this.#sessions.has(session.id) || session.broken) return false;
    if (this.#readsPaused.has(session) || this.#pauseIfNotReading(session)) return false;
    // The slice's clock starts at the second frame and is read every 4 frames: most drains serve
    // one frame, and reading the clock costs as much as a small request's other bookkeeping.
    let sliceEndsAt = Infinity;
    for (let served = 0; !session.broken; served++) {
      if (served === FRAMES_PER_SLICE) return true;
      if ((served & 3) === 1) {
        const now = performance.now();
        if (served === 1) sliceEndsAt = now + SLICE_MS_MAX;
        else if (now >= sliceEndsAt) return true;
      }
      if (session.fdAwaited !== null && !this.#takeAwaitedFd(session)) return false;
      // After the first frame, a socket found empty is not asked again: the poller reports more.
      let status = served === 0 ? session.connection.read(0) : session.connection.readNext();
      while (status === Status.budget_exceeded && this.#growReceive(session)) status = session.connection.read(0);
      if (this.#charged.has(session)) this.#recharge(session);
      if (status === Status.budget_exceeded) return false; // refused and closed
      if (status === Status.would_block) return false;
      if (status !== Status.ok) {
        this.#readFailed(session, status);
        return false;
      }
      const { connection } = session;
      const dialect = session.dialect ?? this.#chooseDialect(session);
      if (dialect === null || !connection.cookieIs(dialect.cookieLow, dialect.cookieHigh)) {
        const expected = dialect === null ? "neither protocol's" : `not this connection's (${dialect.name})`;
        this.#refuse(session, connection.type, ErrorCode.InvalidRequest, `bad frame header: ${expected}`);
        session.fail();
        return false;
      }
      if (connection.type === dialect.disconnectType && connection.header[3] === 0) {
        this.#close(session);
        return false;
      }
      if (connection.length > this.store.requestBytesMax) {
        this.#refuse(
          session,
          connection.type,
          ErrorCode.InvalidRequest,
          `request of ${connection.length} bytes; the limit is ${this.store.requestBytesMax}`,
        );
        session.fail();
        return false;
      }
      this.#dispatch(session, connection.header[3] === 0 ? connection.type : -1, connection.payload());
      if (served % 8 === 7 && !session.broken && this.#pauseIfNotReading(session)) return false;
    }
    return false;
  }

  /**
   * Lets a connection's receive buffer grow as far as the frame arriving needs, if the client
   * memory budget allows; otherwise tells the client which limit it hit and closes it.
   */
  #growReceive(session: ClientSession<Dialect>): boolean {
    const { connection } = session;
    const wantedBytes = connection.counters().receiveBytesWanted;
    const refusal = this.store.clientMemory.request(connection, wantedBytes - RECEIVE_BUFFER_BYTES_INITIAL);
    if (refusal === null) {
      connection.allowReceiveBytes(wantedBytes);
      this.#charged.add(session);
      return true;
    }
    this.store.clientMemoryRefused();
    const what = `a request of ${connection.length} bytes`;
    this.#refuse(session, connection.type, ErrorCode.InvalidRequest, budgetRefusalMessage(what, refusal));
    session.flush();
    this.#close(session);
    return false;
  }

  /** Charges what the connection's receive buffer holds now (it shrinks back after a large frame). */
  #recharge(session: ClientSession<Dialect>): void {
    if (!this.#sessions.has(session.id)) return;
    const heldBytes = session.connection.counters().receiveBufferBytes - RECEIVE_BUFFER_BYTES_INITIAL;
    this.store.clientMemory.set(session.connection, heldBytes);
    if (heldBytes === 0) this.#charged.delete(session);
  }

  /**
   * Serves a slice of one connection; whatever it throws closes that connection only (cleaned up
   * as a dead client), logged with its stack and counted: one client must not stop the store.
   */
  #drainContained(session: ClientSession<Dialect>): boolean {
    try {
      return this.#drain(session);
    } catch (error) {
      this.store.serveErrorContained();
      clientErrorLog.line(
        "serve-error",
        `plasma store: closing client ${session.id} (pid ${session.pid}): serving it threw ` +
          `${(error as Error).stack ?? error}`,
      );
      this.#close(session);
      return false;
    }
  }

  /** Stops reading a client that leaves more than UNREAD_REPLY_BYTES_MAX of replies unread. */
  #pauseIfNotReading(session: ClientSession<Dialect>): boolean {
    if (session.connection.queuedBytes() <= UNREAD_REPLY_BYTES_MAX) return false;
    this.#readsPaused.add(session);
    this.#watch(session);
    return true;
  }

  /** Resumes reading a paused client once it has read its replies down to half the limit. */
  #resumeIfReading(session: ClientSession<Dialect>): void {
    if (!this.#readsPaused.has(session)) return;
    if (session.connection.queuedBytes() > UNREAD_REPLY_BYTES_MAX / 2) return;
    this.#readsPaused.delete(session);
    this.#toBacklog(session); // frames may wait in its receive buffer, which no event reports
  }

  /** Tells the poller what this connection waits for (not its requests while paused or backlogged). */
  #watch(session: ClientSession<Dialect>): void {
    const readsIgnored = this.#readsPaused.has(session) || this.#backlog.has(session);
    this.#poller.modify(session.connection.fd, session.id, session.waitingWritable, readsIgnored);
  }

  /** The first frame's first 8 bytes pick the connection's dialect for good (null: neither). */
  #chooseDialect(session: ClientSession<Dialect>): Dialect | null {
    for (const dialect of DIALECTS) {
      if (session.connection.cookieIs(dialect.cookieLow, dialect.cookieHigh)) {
        session.dialect = dialect;
        return dialect;
      }
    }
    return null;
  }

  /** Hands an awaited fd to its request; false while it has not arrived. */
  #takeAwaitedFd(session: ClientSession<Dialect>): boolean {
    let fd: number | null;
    try {
      fd = session.connection.takeFdIfArrived();
    } catch (error) {
      if (!(error instanceof NativeError)) throw error;
      session.fdAwaited = null;
      this.#refuse(session, -1, ErrorCode.InvalidRequest, `the fd that should follow the request: ${error.message}`);
      session.fail();
      return false;
    }
    if (fd === null) return false;
    const receive = session.fdAwaited!;
    session.fdAwaited = null;
    receive(fd);
    return true;
  }

  #dispatch(session: ClientSession<Dialect>, type: number, payload: Uint8Array): void {
    const dialect = session.dialect!;
    const handler = dialect.handlers.get(type);
    if (handler === undefined) {
      return this.#refuse(session, type, ErrorCode.InvalidRequest, `message type ${type} is not a request`);
    }
    try {
      handler(this.store, session, payload);
    } catch (error) {
      if (error instanceof RequestError) return this.#refuse(session, type, error.code, error.message);
      if (error instanceof VerificationError) {
        return this.#refuse(session, type, ErrorCode.InvalidRequest, `malformed request: ${error.message}`);
      }
      throw error;
    }
  }

  #readFailed(session: ClientSession<Dialect>, status: number): void {
    if (status === Status.frame_too_large) {
      this.#refuse(
        session,
        -1,
        ErrorCode.InvalidRequest,
        `request larger than the limit of ${this.store.requestBytesMax} bytes`,
      );
      session.flush();
    } else if (status !== Status.peer_closed) {
      this.#refuse(session, -1, ErrorCode.InvalidRequest, `unreadable stream: ${statusName(status)}`);
      session.flush();
    }
    this.#close(session);
  }

  /** Tells the client why; a dialect that cannot say it (Arrow's) gets its connection closed. */
  #refuse(session: ClientSession<Dialect>, requestType: number, error: ErrorCode, message: string): void {
    const dialect = session.dialect ?? RAY_DIALECT;
    if (!dialect.refuse(session, requestType, error, message)) session.fail();
  }

  #flush(session: ClientSession<Dialect>): void {
    if (!this.#sessions.has(session.id)) return;
    const status = session.flush();
    // A stream the client broke gets its error reply (best effort) before it is closed.
    if (session.broken) return this.#close(session);
    if (status === Status.ok || status === Status.queued) {
      const waiting = status === Status.queued;
      if (waiting !== session.waitingWritable) {
        session.waitingWritable = waiting;
        this.#watch(session);
      }
      this.#resumeIfReading(session);
      return;
    }
    this.#close(session);
  }

  #close(session: ClientSession<Dialect>): void {
    if (!this.#sessions.delete(session.id)) return;
    this.#backlog.delete(session);
    this.#readsPaused.delete(session);
    this.#charged.delete(session);
    this.store.clientMemory.set(session.connection, 0);
    this.store.disconnect(session);
    session.onClose?.();
    this.#poller.remove(session.connection.fd);
    session.connection.close();
  }
}
