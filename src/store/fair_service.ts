/**
 * Fair service between connections: each turn of the loop serves a connection at most one slice
 * of work (a number of frames and a time, whichever ends first: requests differ in cost by 100x,
 * a Stats costs ~30-90 us, a Release ~1 us), and connections with frames left wait in a
 * round-robin queue for the next turn, so one client's burst delays another's request by at most
 * a slice per busy client. A client that
 * leaves too many replies unread is not read from until it reads them (its input waits in its own
 * socket, not in the store's memory). Invariant: a connection is in the queue at most once.
 * @module
 */

/** Frames one connection is served per turn before the others get theirs, at most. */
export const FRAMES_PER_SLICE = 32;
/**
 * Time one connection is served per turn, at most (checked after each frame, so a slice is at
 * least one frame): with four busy clients a polite request waits ~0.4 ms of others' work, where
 * 32-frame slices of Stats took 1-3 ms each (bench/README.md, "Fair service").
 */
export const SLICE_MS_MAX = 0.1;
/**
 * Replies queued for a client past which its requests are not read until it reads its replies.
 * It bounds what a client that does not read costs: the work to make the replies (at 4 MiB, ten
 * thousand Stats replies took the store ~0.5 s each time such a client connected) and their memory.
 */
export const UNREAD_REPLY_BYTES_MAX = 1024 * 1024;

/** A round-robin queue of connections with work left. */
export class ServiceQueue<T> {
  readonly #queue = new Set<T>();

  get size(): number {
    return this.#queue.size;
  }

  has(item: T): boolean {
    return this.#queue.has(item);
  }

  /** Queues `item` behind the others (no-op if queued). */
  add(item: T): void {
    this.#queue.add(item);
  }

  delete(item: T): void {
    this.#queue.delete(item);
  }

  /**
   * Serves every queued item once, in queue order; `serve` returns whether the item still has
   * work, and then it goes to the back of the queue. Returns whether anything is left.
   */
  serveRound(serve: (item: T) => boolean): boolean {
    for (const item of [...this.#queue]) {
      this.#queue.delete(item);
      if (serve(item)) this.#queue.add(item);
    }
    return this.#queue.size > 0;
  }
}
