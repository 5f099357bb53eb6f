/**
 * The native event wait: an epoll set whose ready list is read synchronously (timeout 0) while
 * busy, or on a native thread (awaited) when idle, so timers and messages keep running.
 * @module
 */
import { handleFrom } from "./_buffers.ts";
import { native } from "./library.ts";
import { unwrap } from "./status.ts";

/** Event flag: the fd is readable. */
export const EVENT_READABLE = 1;
/** Event flag: the fd is writable. */
export const EVENT_WRITABLE = 2;
/** Event flag: the peer hung up. */
export const EVENT_HANGUP = 4;

const EVENTS_MAX = 256;

/** An epoll set; events come back as (token, flags) pairs in {@linkcode Poller.events}. */
export class Poller {
  /** Filled by {@linkcode poll}: `events[2*i]` is a token, `events[2*i+1]` its flags. */
  readonly events: Uint32Array<ArrayBuffer> = new Uint32Array(EVENTS_MAX * 2);
  /** Filled by {@linkcode waitAsync}; separate because the native thread writes it. */
  readonly asyncEvents: Uint32Array<ArrayBuffer> = new Uint32Array(EVENTS_MAX * 2);
  #handle: Deno.PointerObject | null;
  #pendingWait: Promise<number> | null = null;

  constructor() {
    const slot = new BigUint64Array(1);
    unwrap(native().plasma_poller_create(slot), "Creating a poller");
    this.#handle = handleFrom(slot);
  }

  /** Watches `fd` for readability (and writability if asked), reporting `token`. */
  add(fd: number, token: number, writable = false): void {
    unwrap(native().plasma_poller_add(this.#live(), fd, token, interestOf(writable, false)), `Watching fd ${fd}`);
  }

  /**
   * Changes whether `fd` is also watched for writability, and whether for readability
   * (`readsPaused`: a hang-up is still reported).
   */
  modify(fd: number, token: number, writable: boolean, readsPaused = false): void {
    const interest = interestOf(writable, readsPaused);
    unwrap(native().plasma_poller_modify(this.#live(), fd, token, interest), `Re-watching fd ${fd}`);
  }

  /** Stops watching `fd`. */
  remove(fd: number): void {
    unwrap(native().plasma_poller_remove(this.#live(), fd), `Unwatching fd ${fd}`);
  }

  /**
   * Reads ready events into {@linkcode events}; returns how many. Waits on this thread up to
   * `timeoutMs` (default 0: never blocks), so timers and messages wait too while it blocks.
   */
  poll(timeoutMs = 0): number {
    const count = native().plasma_poller_wait(this.#live(), this.events, EVENTS_MAX, timeoutMs);
    if (count < 0) unwrap(-count, "Polling");
    return count;
  }

  /** Waits on a native thread (up to `timeoutMs`, -1 forever) into {@linkcode asyncEvents}. */
  async waitAsync(timeoutMs: number): Promise<number> {
    if (this.#pendingWait) throw new Error("Poller already has a wait in progress");
    this.#pendingWait = native().plasma_poller_wait_async(this.#live(), this.asyncEvents, EVENTS_MAX, timeoutMs);
    try {
      const count = await this.#pendingWait;
      if (count < 0) unwrap(-count, "Waiting for events");
      return count;
    } finally {
      this.#pendingWait = null;
    }
  }

  /** Makes a wait in progress return now (safe from any thread). */
  wake(): void {
    unwrap(native().plasma_poller_wake(this.#live()), "Waking the poller");
  }

  /** Destroys the epoll set once no wait uses it. Safe to call twice. */
  async close(): Promise<void> {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    const pending = this.#pendingWait;
    if (pending) {
      native().plasma_poller_wake(handle);
      await pending.catch(() => 0);
    }
    native().plasma_poller_destroy(handle);
  }

  #live(): Deno.PointerObject {
    if (this.#handle === null) throw new Error("poller is closed");
    return this.#handle;
  }
}

/** The native interest bits: 1 writable, 2 reads paused (ffi/zig/poller.zig). */
function interestOf(writable: boolean, readsPaused: boolean): number {
  return (writable ? 1 : 0) | (readsPaused ? 2 : 0);
}
