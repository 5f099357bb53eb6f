/**
 * Pull admission and retries: one pull per object at a time; a pull is admitted only while the
 * bytes being pulled fit in the store and under the count caps (PULLS_ACTIVE_MAX large ones,
 * SMALL_PULLS_ACTIVE_MAX in all; one pull is always allowed, so progress is guaranteed);
 * gets outrank fetches in the queue; a failed transfer is retried from another holder with
 * back-off until PULL_DEADLINE_MS, then fails with an error naming every attempt.
 * @module
 */
import {
  PULL_DEADLINE_MS,
  PULL_RETRY_DELAY_MS,
  PULLS_ACTIVE_MAX,
  SMALL_PULL_BYTES_MAX,
  SMALL_PULLS_ACTIVE_MAX,
} from "../cluster/constants.ts";
import type { ObjectLocation } from "../cluster/directory.ts";
import type { TransferCounters } from "./transfer_counters.ts";

export type PullPriority = "get" | "fetch";

/** What the pull manager needs from the rest of the node. */
export interface PullDependencies {
  nodeId: string;
  capacityBytes: number;
  counters: TransferCounters;
  /** Live holders of the object (this node excluded by the caller's filter below). */
  locate(objectIdHex: string): Promise<ObjectLocation[]>;
  /** Copies the object from `holder` into the local store; resolves once sealed here, or when the
   * store already has it. `failedAttempts` counts the transfers of it that failed (a retry may
   * avoid what failed before). */
  transfer(objectIdHex: string, holder: ObjectLocation, failedAttempts: number): Promise<void>;
  log(message: string): void;
  /** How long a pull may keep trying (default PULL_DEADLINE_MS). */
  deadlineMs?: number;
}

interface Waiting {
  priority: PullPriority;
  sizeBytes: number;
  admit: () => void;
}

export class PullManager {
  readonly #deps: PullDependencies;
  readonly #pulls = new Map<string, Promise<void>>();
  /** Objects whose location is unknown, woken when the directory announces them. */
  readonly #awaitingLocation = new Map<string, () => void>();
  /** Waiting pulls: every get goes before every fetch, each FIFO (O(1) either way). */
  readonly #queues = { get: new Fifo<Waiting>(), fetch: new Fifo<Waiting>() };
  #admittedBytes = 0;
  #admittedCount = 0;
  #admittedLarge = 0;
  #stopped = false;

  constructor(deps: PullDependencies) {
    this.#deps = deps;
  }

  /** Pulls the object unless a pull of it is already running; resolves when it is here. */
  pull(objectIdHex: string, priority: PullPriority): Promise<void> {
    let running = this.#pulls.get(objectIdHex);
    if (running === undefined) {
      running = this.#run(objectIdHex, priority).finally(() => this.#pulls.delete(objectIdHex));
      this.#pulls.set(objectIdHex, running);
    }
    return running;
  }

  /** The directory announced new locations of these objects: wake their waiting pulls. */
  locationsAdded(objectIdsHex: string[]): void {
    for (const id of objectIdsHex) this.#awaitingLocation.get(id)?.();
  }

  /** Something may have been missed (reconnect): every pull waiting for a location looks again. */
  resync(): void {
    for (const wake of [...this.#awaitingLocation.values()]) wake();
  }

  /** Fails every waiting pull from now on. */
  stop(): void {
    this.#stopped = true;
    this.resync();
    for (const waiting of [...this.#queues.get.drain(), ...this.#queues.fetch.drain()]) {
      this.#reserve(waiting.sizeBytes);
      waiting.admit();
    }
  }

  async #run(objectIdHex: string, priority: PullPriority): Promise<void> {
    const deadline = performance.now() + (this.#deps.deadlineMs ?? PULL_DEADLINE_MS);
    const failures: string[] = [];
    for (let attempt = 0; !this.#stopped; attempt++) {
      const holders = (await this.#locateSafely(objectIdHex)).filter((location) =>
        location.nodeId !== this.#deps.nodeId
      );
      const untried = holders.filter((holder) => !failures.some((failure) => failure.startsWith(holder.nodeId)));
      const candidates = untried.length > 0 ? untried : holders;
      if (candidates.length > 0) {
        const holder = candidates[Math.floor(Math.random() * candidates.length)];
        try {
          await this.#admitted(
            priority,
            holder.dataSize + holder.metadataSize,
            () => this.#deps.transfer(objectIdHex, holder, failures.length),
          );
          return;
        } catch (error) {
          failures.push(`${holder.nodeId}: ${(error as Error).message}`);
        }
      }
      const left = deadline - performance.now();
      if (left <= 0) break;
      await this.#waitForLocation(objectIdHex, Math.min(left, PULL_RETRY_DELAY_MS * 2 ** Math.min(attempt, 6)));
    }
    this.#deps.counters.numPullsFailed++;
    const tried = failures.length > 0 ? `; attempts: ${failures.join("; ")}` : "; no node holds it";
    const error = new Error(`Cannot pull object ${objectIdHex}${this.#stopped ? ": stopping" : ""}${tried}`);
    this.#deps.log(error.message);
    throw error;
  }

  async #locateSafely(objectIdHex: string): Promise<ObjectLocation[]> {
    try {
      return await this.#deps.locate(objectIdHex);
    } catch (error) {
      this.#deps.log(`locating ${objectIdHex} failed: ${(error as Error).message}`);
      return [];
    }
  }

  #waitForLocation(objectIdHex: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, timeoutMs);
      const map = this.#awaitingLocation;
      function wake() {
        clearTimeout(timer);
        map.delete(objectIdHex);
        resolve();
      }
      this.#awaitingLocation.set(objectIdHex, wake);
    });
  }

  /** Runs `work` once admitted: while the admitted bytes fit in the store, gets first. */
  async #admitted(priority: PullPriority, sizeBytes: number, work: () => Promise<void>): Promise<void> {
    if (this.#fits(sizeBytes)) {
      this.#reserve(sizeBytes);
    } else {
      // Reserved by #admitNext before it wakes us, so two wake-ups never overcommit.
      await new Promise<void>((admit) => {
        this.#queues[priority].push({ priority, sizeBytes, admit });
      });
    }
    const counters = this.#deps.counters;
    counters.numPullsInFlight++;
    counters.numBytesPulling += sizeBytes;
    try {
      await work();
    } finally {
      this.#admittedBytes -= sizeBytes;
      this.#admittedCount--;
      if (sizeBytes > SMALL_PULL_BYTES_MAX) this.#admittedLarge--;
      counters.numPullsInFlight--;
      counters.numBytesPulling -= sizeBytes;
      this.#admitNext();
    }
  }

  #fits(sizeBytes: number): boolean {
    if (this.#admittedCount === 0) return true;
    if (this.#admittedCount >= SMALL_PULLS_ACTIVE_MAX) return false;
    if (sizeBytes > SMALL_PULL_BYTES_MAX && this.#admittedLarge >= PULLS_ACTIVE_MAX) return false;
    return this.#admittedBytes + sizeBytes <= this.#deps.capacityBytes;
  }

  #reserve(sizeBytes: number): void {
    this.#admittedBytes += sizeBytes;
    this.#admittedCount++;
    if (sizeBytes > SMALL_PULL_BYTES_MAX) this.#admittedLarge++;
  }

  #admitNext(): void {
    for (;;) {
      const queue = this.#queues.get.size > 0 ? this.#queues.get : this.#queues.fetch;
      const head = queue.peek();
      if (head === undefined || !this.#fits(head.sizeBytes)) return;
      const next = queue.shift()!;
      this.#reserve(next.sizeBytes);
      next.admit();
    }
  }
}

/** A first-in first-out queue with O(1) push and shift (Array.shift is O(n) on long arrays). */
class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Empties the queue. @returns what it held, in order */
  drain(): T[] {
    const items = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
