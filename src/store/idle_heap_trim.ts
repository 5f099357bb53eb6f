/**
 * Trims the process's C heap once the store has been quiet for a while. After a burst of
 * requests, pages freed in the middle of malloc's arenas stay resident (~9 MB after 100,000
 * creates) until trimmed. Waiting for a quiet spell keeps the trim, and the page faults that
 * reuse those pages, out of busy periods; the interval bounds trims to one per second however
 * often the loop sleeps, and a store with nothing new since its last trim is not trimmed again.
 * @module
 */

/** Quiet time after the loop last went to sleep before a trim. */
export const HEAP_TRIM_QUIET_MS = 100;
/** Shortest time between two trims. */
export const HEAP_TRIM_INTERVAL_MS = 1000;

/** What the schedule works with; timers and clock are injectable for tests. */
export interface IdleHeapTrimOptions {
  /** Trims the heap. */
  trim: () => void;
  /** A count that grows with every event the loop serves (the loop's event counter). */
  activity: () => number;
  quietMs?: number;
  intervalMs?: number;
  now?: () => number;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

/** Call {@linkcode loopIdle} each time the loop goes to sleep; {@linkcode close} when it stops. */
export class IdleHeapTrim {
  readonly #trim: () => void;
  readonly #activity: () => number;
  readonly #quietMs: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #setTimer: (callback: () => void, ms: number) => unknown;
  readonly #clearTimer: (timer: unknown) => void;
  #timer: unknown;
  #idleAt = 0;
  #idleActivity = 0;
  #trimmedAt = -Infinity;
  /** Activity at the last trim: none since means nothing new to give back. */
  #trimmedActivity = 0;
  #closed = false;
  #trims = 0;

  constructor(options: IdleHeapTrimOptions) {
    this.#trim = options.trim;
    this.#activity = options.activity;
    this.#quietMs = options.quietMs ?? HEAP_TRIM_QUIET_MS;
    this.#intervalMs = options.intervalMs ?? HEAP_TRIM_INTERVAL_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.#clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as number));
  }

  /** The loop is going to sleep: a trim follows if it stays asleep for the quiet time. */
  loopIdle(): void {
    if (this.#closed) return;
    this.#idleAt = this.#now();
    this.#idleActivity = this.#activity();
    if (this.#timer === undefined) this.#schedule(this.#quietMs);
  }

  /** Trims done so far. */
  get trims(): number {
    return this.#trims;
  }

  /** Cancels a pending trim; later calls do nothing. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#timer = this.#setTimer(() => this.#due(), ms);
  }

  #due(): void {
    this.#timer = undefined;
    const activity = this.#activity();
    // Woken since it last slept: busy again; its next sleep schedules anew.
    if (this.#closed || activity !== this.#idleActivity || activity === this.#trimmedActivity) return;
    const now = this.#now();
    const wait = Math.max(this.#idleAt + this.#quietMs, this.#trimmedAt + this.#intervalMs) - now;
    if (wait > 0) return this.#schedule(wait);
    this.#trimmedAt = now;
    this.#trimmedActivity = activity;
    this.#trims++;
    this.#trim();
  }
}
