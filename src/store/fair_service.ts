/**
 * Fair service between connections: each turn of the loop serves a connection at most one slice
 * of work (a number of frames and a time, whichever ends first: requests differ in cost by 100x,
 * a Stats costs ~30-90 us, a Release ~1 us), and connections with frames left wait in a
 * round-robin queue for the next turn. New requests are looked for between two slices, so one
 * client's burst delays another's request by about one slice. While a connection waits in the
 * queue its socket is not watched (the loop would only be told again what it knows). A client that
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

/**
 * A round-robin queue of connections with work left. `onLeave` hears of each item that leaves
 * it with no work left (the server then watches that connection's socket again).
 */
export class ServiceQueue<T> {
  readonly #queue = new Set<T>();
  readonly #onLeave: (item: T) => void;

  constructor(onLeave: (item: T) => void = () => {}) {
    this.#onLeave = onLeave;
  }

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
   * Serves every item queued when the round starts once, in queue order; `serve` returns whether
   * the item still has work (it stays queued, for the next round). `between` runs between two
   * items, so work that arrives meanwhile (a new request) waits for one slice, not for a round;
   * items it queues are served from the next round on. (Not after the last: the caller's next
   * turn looks for new work anyway.) Returns whether anything is left.
   */
  serveRound(serve: (item: T) => boolean, between: () => void = () => {}): boolean {
    const round = [...this.#queue];
    for (let index = 0; index < round.length; index++) {
      const item = round[index];
      if (!this.#queue.has(item)) continue; // removed meanwhile (its client closed)
      if (!serve(item) && this.#queue.delete(item)) this.#onLeave(item);
      if (index < round.length - 1) between();
    }
    return this.#queue.size > 0;
  }
}
