/**
 * One connected client as the server sees it: the core's StoreClient (references, counts) plus
 * its framed connection, its dialect and the chunks whose fds it has been sent.
 * Invariant: the main chunk's fd is sent to a client at most once per connection.
 * @module
 */
import type { FrameConnection } from "../../ffi/frame_connection.ts";
import { Status } from "../../ffi/status.ts";
import { COOKIE } from "../protocol/frame.ts";
import type { ChunkRef } from "../protocol/messages.ts";
import type { ChunkInfo } from "./local_object.ts";
import { MAIN_CHUNK_ID } from "./constants.ts";
import { StoreClient } from "./store_client.ts";

/** What a session needs of its dialect to frame replies (the server's Dialect has more). */
export interface SessionDialect {
  /** First header word of every frame. */
  readonly cookie: bigint;
  /**
   * Whether a fallback chunk's fd goes with every reply naming it (clients that unmap it when
   * done) or once per connection like the main chunk (clients that keep every mapping).
   */
  readonly resendsFallbackFds: boolean;
}

/**
 * Sessions with output queued during the current dispatch, each listed once (its `dirty` flag):
 * an array and a flag instead of a Set, whose iteration allocated on every request.
 */
export class DirtySessions<S extends { dirty: boolean }> {
  readonly #list: S[] = [];

  add(session: S): void {
    if (session.dirty) return;
    session.dirty = true;
    this.#list.push(session);
  }

  /** Calls `flush` for each listed session, including those listed meanwhile, and empties the list. */
  flushEach(flush: (session: S) => void): void {
    const list = this.#list;
    for (let index = 0; index < list.length; index++) {
      list[index].dirty = false;
      flush(list[index]);
    }
    list.length = 0;
  }
}

export class ClientSession<D extends SessionDialect = SessionDialect> extends StoreClient {
  readonly connection: FrameConnection;
  readonly pid: number;
  readonly #chunksSent = new Set<number>();
  /** Set by the first frame's first 8 bytes; never changes afterwards. */
  dialect: D | null = null;
  /** Set when the last request is followed by an fd (Arrow's Subscribe): called when it arrives. */
  fdAwaited: ((fd: number) => void) | null = null;
  /** Called when the session closes (Arrow's notification socket is closed with it). */
  onClose: (() => void) | null = null;
  /** Set when a send failed: the server closes the session after the current dispatch. */
  broken = false;
  /** Set while the output queue waits for the socket to drain. */
  waitingWritable = false;

  /** On the server's list of sessions to flush (see {@linkcode DirtySessions}). */
  dirty = false;
  readonly #dirty: DirtySessions<ClientSession<D>>;

  /** @param dirty the server's list of sessions with output to flush after the current dispatch */
  constructor(id: number, connection: FrameConnection, pid: number, dirty: DirtySessions<ClientSession<D>>) {
    super(id);
    this.connection = connection;
    this.pid = pid;
    this.#dirty = dirty;
  }

  /** Queues one reply; the server flushes every session it touched at the end of the dispatch. */
  send(type: number, payload: Uint8Array): void {
    this.#dirty.add(this);
    if (this.broken) return;
    if (this.connection.queue(this.dialect?.cookie ?? COOKIE, type, payload) !== Status.ok) this.broken = true;
  }

  /** Marks the stream unusable: the server closes the session after the current dispatch. */
  fail(): void {
    this.broken = true;
    this.#dirty.add(this);
  }

  /** Chunk references for a reply, marking which fds will follow it (first time only). */
  chunkRefs(chunks: Iterable<ChunkInfo>): ChunkRef[] {
    const refs: ChunkRef[] = [];
    for (const chunk of chunks) {
      // A fallback chunk holds one object, and our clients unmap it when they let that object
      // go, so its fd is sent with every reply that refers to it (Arrow's clients never unmap).
      const resend = chunk.id !== MAIN_CHUNK_ID && (this.dialect?.resendsFallbackFds ?? true);
      const fdFollows = !this.#chunksSent.has(chunk.id) || resend;
      refs.push({ storeFd: chunk.fd, uniqueFdId: chunk.id, mmapSize: chunk.sizeBytes, fdFollows });
    }
    return refs;
  }

  /** Queues the fds of chunks marked `fdFollows`, in order, after the reply just queued. */
  sendFds(refs: ChunkRef[]): void {
    for (const ref of refs) {
      if (!ref.fdFollows || this.broken) continue;
      this.#chunksSent.add(ref.uniqueFdId);
      const status = this.connection.sendFd(ref.storeFd, 0);
      if (status !== Status.ok && status !== Status.queued) this.broken = true;
    }
  }

  /** Sends what is queued: ok, queued (socket full), or a failure. */
  flush(): number {
    return this.connection.flush(0);
  }
}
