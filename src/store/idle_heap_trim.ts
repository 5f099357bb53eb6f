/**
 * Gives memory back once the store has been quiet for a while. During a burst of requests V8's old
 * space fills with promoted garbage (~17 MB after 100,000 creates, collected only when its limit
 * grows past it) and malloc's arenas keep the pages of blocks freed in their middle (~9 MB); both
 * stay resident until V8's memory reducer runs, seconds later or never. A quiet store collects its
 * garbage when there is enough of it (a last-resort GC, which also shrinks V8's heap: ~40 ms for
 * that heap, when the launcher exposed `gc`) and trims the C heap (~3-5 ms). Waiting for a quiet
 * second keeps both pauses, and the page faults that reuse those pages, out of busy periods; a
 * store with nothing new since its last release is left alone.
 * @module
 */
import { trimNativeHeap } from "../../ffi/heap.ts";

/** Quiet time after the loop last went to sleep before memory is released. */
export const HEAP_TRIM_QUIET_MS = 1000;
/** Shortest time between two releases (bounds their cost when quiet spells come often). */
export const HEAP_TRIM_INTERVAL_MS = 5000;
/** Garbage worth a full GC: with less, the heap is near its live size and the pause buys little. */
export const GARBAGE_BYTES_MIN = 4 * 1024 * 1024;

/** V8's `gc` as `--expose-gc` installs it (options select a last-resort, heap-shrinking collection). */
export type ExposedGc = (options: { type: "major"; flavor: "last-resort" }) => void;

/** Releases V8's garbage (when there is enough and `gc` is exposed), then the C heap's free pages. */
export class MemoryRelease {
  readonly #gc: ExposedGc | undefined;
  readonly #heapUsedBytes: () => number;
  readonly #trimNativeHeap: () => void;
  /** V8's heap in use right after the last collection: what is above it is (mostly) garbage. */
  #liveBytes = 0;

  constructor(
    gc = (globalThis as { gc?: ExposedGc }).gc,
    heapUsedBytes = () => Deno.memoryUsage().heapUsed,
    trimHeap = () => void trimNativeHeap(),
  ) {
    this.#gc = gc;
    this.#heapUsedBytes = heapUsedBytes;
    this.#trimNativeHeap = trimHeap;
  }

  /** One release: a collection if worth it, then a trim of the C heap (which the collection may have fed). */
  release(): void {
    if (this.#gc !== undefined && this.#heapUsedBytes() - this.#liveBytes >= GARBAGE_BYTES_MIN) {
      this.#gc({ type: "major", flavor: "last-resort" });
      this.#liveBytes = this.#heapUsedBytes();
    }
    this.#trimNativeHeap();
  }
}

/** What the schedule works with; timers and clock are injectable for tests. */
export interface IdleHeapTrimOptions {
  /** Releases memory ({@linkcode MemoryRelease.release} in the store). */
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
  /** Activity at the last release: none since means nothing new to give back. */
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

  /** The loop is going to sleep: a release follows if it stays asleep for the quiet time. */
  loopIdle(): void {
    if (this.#closed) return;
    this.#idleAt = this.#now();
    this.#idleActivity = this.#activity();
    if (this.#timer === undefined) this.#schedule(this.#quietMs);
  }

  /** Releases done so far. */
  get trims(): number {
    return this.#trims;
  }

  /** Cancels a pending release; later calls do nothing. */
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
    try {
      this.#trim();
    } catch (error) {
      // Best effort, from a timer: a failure here must not stop the store.
      console.error(`plasma store: giving memory back failed: ${(error as Error).message}`);
    }
  }
}
