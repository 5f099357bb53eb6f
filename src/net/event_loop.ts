/**
 * Spin-then-block event loop over a native Poller. While events keep coming it polls
 * synchronously (timeout 0: no thread hand-off, no Promise); after `spinMicros` without events
 * it awaits a blocking wait on a native thread, so an idle loop costs ~0 CPU, and timers and
 * Worker messages run while it waits. A busy loop yields to the event loop every `yieldEveryMs`.
 * Invariant: at most one native wait is in flight, and handlers run on this thread only.
 * @module
 */
import type { Poller } from "../../ffi/poller.ts";

/** How long the loop keeps polling after its last event before it sleeps (measured best on these machines). */
const SPIN_MICROS_DEFAULT = 50;
/** While continuously busy, the loop lets timers and messages run this often. */
const YIELD_EVERY_MS_DEFAULT = 2;

/** Receives each ready event. */
export type EventHandler = (token: number, flags: number) => void;

/** Tuning of the loop; the defaults come from measurements on the target machines. */
export interface EventLoopOptions {
  /** How long to keep polling synchronously after the last event (default {@linkcode SPIN_MICROS_DEFAULT}). */
  spinMicros?: number;
  /** While continuously busy, let timers and messages run this often (default {@linkcode YIELD_EVERY_MS_DEFAULT}). */
  yieldEveryMs?: number;
}

/** Counters for benchmarks and tests: how the loop spent its wake-ups. */
export interface EventLoopCounters {
  syncPolls: number;
  blockingWaits: number;
  events: number;
}

/** Drives a Poller until stopped. */
export class EventLoop {
  readonly #poller: Poller;
  readonly #handler: EventHandler;
  readonly #spinMs: number;
  readonly #yieldEveryMs: number;
  #running = false;
  #done: Promise<void> | null = null;
  readonly counters: EventLoopCounters = { syncPolls: 0, blockingWaits: 0, events: 0 };

  constructor(poller: Poller, handler: EventHandler, options: EventLoopOptions = {}) {
    this.#poller = poller;
    this.#handler = handler;
    this.#spinMs = (options.spinMicros ?? SPIN_MICROS_DEFAULT) / 1000;
    this.#yieldEveryMs = options.yieldEveryMs ?? YIELD_EVERY_MS_DEFAULT;
  }

  /** Starts the loop; the promise settles when {@linkcode stop} is called (or a handler throws). */
  start(): Promise<void> {
    if (this.#done) throw new Error("event loop already started");
    this.#running = true;
    this.#done = this.#run();
    return this.#done;
  }

  /** Stops after the current dispatch; resolves when the loop has left its wait. */
  async stop(): Promise<void> {
    if (!this.#running) return await this.#done ?? undefined;
    this.#running = false;
    this.#poller.wake();
    await this.#done;
  }

  async #run(): Promise<void> {
    let lastEventAt = performance.now();
    let lastYieldAt = lastEventAt;
    while (this.#running) {
      const ready = this.#poller.poll();
      this.counters.syncPolls++;
      const now = performance.now();
      if (ready > 0) {
        this.#dispatch(this.#poller.events, ready);
        lastEventAt = now;
        if (now - lastYieldAt < this.#yieldEveryMs) continue;
        // A zero-timeout wait on the native thread is a real macrotask: timers and messages run.
        lastYieldAt = now;
        this.#dispatch(this.#poller.asyncEvents, await this.#poller.waitAsync(0));
        continue;
      }
      if (now - lastEventAt < this.#spinMs) continue;
      this.counters.blockingWaits++;
      const woken = await this.#poller.waitAsync(-1);
      this.#dispatch(this.#poller.asyncEvents, woken);
      lastEventAt = lastYieldAt = performance.now();
    }
  }

  #dispatch(events: Uint32Array, count: number): void {
    this.counters.events += count;
    for (let index = 0; index < count; index++) {
      this.#handler(events[index * 2], events[index * 2 + 1]);
    }
  }
}
