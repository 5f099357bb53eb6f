/**
 * Event loop over a native Poller. While events keep coming it polls synchronously (timeout 0:
 * no thread hand-off, no Promise). When none are ready it may spin a little (poll again), then
 * block on this thread for a bounded time (one kernel wake-up when the next request comes, like a
 * native server), then await a wait on a native thread, so an idle loop costs ~0 CPU and timers
 * and Worker messages run while it waits. How long to spin is the strategy's choice: spinning
 * saves a cross-CPU wake-up per request but takes a core that others may need more.
 * A busy loop yields to the event loop every `yieldEveryMs`.
 * Invariant: at most one native wait is in flight, and handlers run on this thread only.
 * @module
 */
import type { Poller } from "../../ffi/poller.ts";
import { CpuPressure, PRESSURE_STALL_FRACTION_MAX, PRESSURE_WINDOW_MS } from "./cpu_pressure.ts";

/** How long the loop keeps polling after its last event before it sleeps (measured best on these machines). */
const SPIN_MICROS_DEFAULT = 50;
/** While continuously busy, the loop lets timers and messages run this often. */
const YIELD_EVERY_MS_DEFAULT = 2;

/** Receives each ready event. */
export type EventHandler = (token: number, flags: number) => void;

/**
 * When to spin after the last event: `spin` always (up to spinMicros), `block` never,
 * `pressure` only while no task has been waiting for a CPU (kernel PSI), `adaptive` with a
 * budget that halves each time a spin runs out and doubles each time one catches an event.
 */
export type WaitStrategy = "spin" | "block" | "pressure" | "adaptive";

/** The strategies, for flags and checks. */
export const WAIT_STRATEGIES: readonly WaitStrategy[] = ["spin", "block", "pressure", "adaptive"];

/** Tuning of the loop; the defaults come from measurements on the target machines. */
export interface EventLoopOptions {
  /** When to spin (default "spin"). */
  strategy?: WaitStrategy;
  /** How long to keep polling synchronously after the last event, at most (default {@linkcode SPIN_MICROS_DEFAULT}). */
  spinMicros?: number;
  /** After spinning, block on this thread up to this long before an awaited wait (default 0: none). */
  blockMs?: number;
  /** While continuously busy, let timers and messages run this often (default {@linkcode YIELD_EVERY_MS_DEFAULT}). */
  yieldEveryMs?: number;
  /**
   * Work left over from earlier events (a connection that used up its slice), run once per turn;
   * returns whether any is still left, and while it is the loop never sleeps. It may call
   * `pollNow` between pieces of its work, to dispatch events that came meanwhile without waiting.
   */
  backlog?: (pollNow: () => void) => boolean;
  /**
   * Whether answers from another thread (spill I/O) are awaited. They arrive as messages, which
   * cannot run while this thread blocks: the loop then skips its bounded block (`blockMs`) and
   * waits awaited, or each answer would wait up to `blockMs` (~5x slower restores, measured).
   */
  awaiting?: () => boolean;
  /** Called each time the loop goes to sleep (its awaited wait), just before it waits. */
  idle?: () => void;
}

/** Counters for benchmarks and tests: how the loop spent its wake-ups. */
export interface EventLoopCounters {
  syncPolls: number;
  /** Bounded blocking waits on this thread. */
  syncBlocks: number;
  /** Awaited waits on the native thread (the loop went idle). */
  blockingWaits: number;
  events: number;
}

/** An event found this long after the previous one was caught by the spin (not already queued). */
const SPIN_CATCH_MIN_MS = 0.001;

/** Drives a Poller until stopped. */
export class EventLoop {
  readonly #poller: Poller;
  readonly #handler: EventHandler;
  readonly #strategy: WaitStrategy;
  readonly #spinMs: number;
  readonly #blockMs: number;
  readonly #yieldEveryMs: number;
  readonly #backlog: (pollNow: () => void) => boolean;
  readonly #pollNow = (): void => {
    const ready = this.#poller.poll(0);
    if (ready > 0) this.#dispatch(this.#poller.events, ready);
  };
  readonly #awaiting: () => boolean;
  readonly #idle: () => void;
  readonly #pressure = new CpuPressure(PRESSURE_WINDOW_MS, PRESSURE_STALL_FRACTION_MAX);
  #adaptiveSpinMs: number;
  #running = false;
  #done: Promise<void> | null = null;
  readonly counters: EventLoopCounters = { syncPolls: 0, syncBlocks: 0, blockingWaits: 0, events: 0 };

  constructor(poller: Poller, handler: EventHandler, options: EventLoopOptions = {}) {
    this.#poller = poller;
    this.#handler = handler;
    this.#strategy = options.strategy ?? "spin";
    this.#spinMs = (options.spinMicros ?? SPIN_MICROS_DEFAULT) / 1000;
    this.#adaptiveSpinMs = this.#spinMs;
    this.#blockMs = options.blockMs ?? 0;
    this.#yieldEveryMs = options.yieldEveryMs ?? YIELD_EVERY_MS_DEFAULT;
    this.#backlog = options.backlog ?? (() => false);
    this.#awaiting = options.awaiting ?? (() => false);
    this.#idle = options.idle ?? (() => {});
    if (!WAIT_STRATEGIES.includes(this.#strategy)) throw new RangeError(`Unknown wait strategy "${this.#strategy}"`);
    if (!(this.#spinMs >= 0) || !(this.#blockMs >= 0)) throw new RangeError("spinMicros and blockMs must be >= 0");
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
    try {
      await this.#serve();
    } finally {
      this.#pressure.close();
    }
  }

  async #serve(): Promise<void> {
    let now = performance.now();
    let lastEventAt = now;
    let lastYieldAt = now;
    // A bounded block found nothing since the last event: the next wait is the awaited one.
    let blocked = false;
    // Work some connection left over (it used up its slice): while any is left, never wait.
    // Unknown at the start, so the first turn asks.
    let backlogLeft = true;
    while (this.#running) {
      const spinLimitMs = this.#spinLimitMs(now);
      const spinning = backlogLeft || now - lastEventAt < spinLimitMs;
      if (!spinning && !blocked && spinLimitMs > 0) this.#adaptSpin(false);
      if (!spinning && (blocked || this.#blockMs === 0 || this.#awaiting())) {
        await this.#sleep();
        now = lastEventAt = lastYieldAt = performance.now();
        blocked = false;
        backlogLeft = true; // what the wake-up dispatched may have left a backlog
        continue;
      }
      // Not spinning: block right away (one syscall, returns at once when events are ready).
      if (!spinning) {
        this.counters.syncBlocks++;
        blocked = true;
      }
      const ready = this.#poller.poll(spinning ? 0 : this.#blockMs);
      this.counters.syncPolls++;
      now = performance.now();
      if (ready > 0) {
        if (spinning && now - lastEventAt > SPIN_CATCH_MIN_MS) this.#adaptSpin(true);
        this.#dispatch(this.#poller.events, ready);
      }
      const servedBacklog = backlogLeft;
      backlogLeft = this.#backlog(this.#pollNow);
      if (ready === 0 && !servedBacklog && !backlogLeft) continue;
      lastEventAt = now;
      blocked = false;
      if (now - lastYieldAt < this.#yieldEveryMs) continue;
      // A zero-timeout wait on the native thread is a real macrotask: timers and messages run.
      lastYieldAt = now;
      this.#dispatch(this.#poller.asyncEvents, await this.#poller.waitAsync(0));
      backlogLeft = true;
    }
  }

  /** Idle: an awaited wait on the native thread, so timers and messages run meanwhile. */
  async #sleep(): Promise<void> {
    this.counters.blockingWaits++;
    this.#idle();
    this.#dispatch(this.#poller.asyncEvents, await this.#poller.waitAsync(-1));
  }

  #spinLimitMs(now: number): number {
    switch (this.#strategy) {
      case "spin":
        return this.#spinMs;
      case "block":
        return 0;
      case "pressure":
        return this.#pressure.high(now) ? 0 : this.#spinMs;
      case "adaptive":
        return this.#adaptiveSpinMs;
    }
  }

  /** Adaptive budget: a spin that caught an event earns more, one that ran out loses half. */
  #adaptSpin(caught: boolean): void {
    if (this.#strategy !== "adaptive") return;
    const floorMs = this.#spinMs / 32;
    this.#adaptiveSpinMs = caught
      ? Math.min(this.#spinMs, Math.max(floorMs, this.#adaptiveSpinMs * 2))
      : Math.max(floorMs, this.#adaptiveSpinMs / 2);
  }

  #dispatch(events: Uint32Array, count: number): void {
    this.counters.events += count;
    for (let index = 0; index < count; index++) {
      this.#handler(events[index * 2], events[index * 2 + 1]);
    }
  }
}
