/**
 * One budget for the memory clients make the store hold outside object memory (receive buffers
 * grown for large frames, notification backlogs): a holder may grow while it stays within its
 * fair share (the budget over the holders now holding memory, never below a floor) and the total
 * stays within the budget. Invariant: the sum of granted bytes never exceeds the budget, and
 * equals the sum over holders (checked on every change).
 * @module
 */
import { CLIENT_MEMORY_BYTES_DEFAULT_MIN } from "./constants.ts";
import { mib } from "./units.ts";

/** Why a request was refused: the figures its error message names. */
export interface BudgetRefusal {
  /** Bytes the holder asked to hold. */
  requestedBytes: number;
  /** Its fair share when it asked. */
  shareBytes: number;
  /** Bytes all holders held when it asked. */
  heldBytes: number;
  budgetBytes: number;
  /** Holders holding memory, counting the one that asked. */
  holders: number;
}

/** The store-wide budget; holders are whatever objects the caller uses as keys. */
export class ClientMemoryBudget<K> {
  readonly budgetBytes: number;
  readonly floorBytes: number;
  readonly #held = new Map<K, number>();
  #heldBytes = 0;

  /**
   * @param budgetBytes total bytes all holders may hold together
   * @param floorBytes a share never smaller than this (while the total has room)
   */
  constructor(budgetBytes: number, floorBytes: number) {
    if (!(budgetBytes > 0) || !(floorBytes > 0) || floorBytes > budgetBytes) {
      throw new RangeError(`client memory budget ${budgetBytes} must be > 0 and >= its floor ${floorBytes}`);
    }
    this.budgetBytes = budgetBytes;
    this.floorBytes = floorBytes;
  }

  /** Bytes held by all holders. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Holders holding any memory now. */
  get holders(): number {
    return this.#held.size;
  }

  /** Bytes `holder` holds now. */
  heldBy(holder: K): number {
    return this.#held.get(holder) ?? 0;
  }

  /** A holder's fair share if it (too) held memory. */
  shareBytes(holder: K): number {
    const holders = this.#held.size + (this.#held.has(holder) ? 0 : 1);
    return Math.max(this.floorBytes, Math.floor(this.budgetBytes / holders));
  }

  /**
   * Lets `holder` hold `bytes` in all (not in addition) if that is within its share and the
   * budget; returns null when granted, else the figures of the refusal (nothing changes then).
   * Shrinking is always granted.
   */
  request(holder: K, bytes: number): BudgetRefusal | null {
    const before = this.heldBy(holder);
    if (bytes <= before) {
      this.set(holder, bytes);
      return null;
    }
    const shareBytes = this.shareBytes(holder);
    const heldAfter = this.#heldBytes - before + bytes;
    if (bytes > shareBytes || heldAfter > this.budgetBytes) {
      const holders = this.#held.size + (this.#held.has(holder) ? 0 : 1);
      return { requestedBytes: bytes, shareBytes, heldBytes: this.#heldBytes, budgetBytes: this.budgetBytes, holders };
    }
    this.set(holder, bytes);
    return null;
  }

  /** Records what `holder` holds now without a check (it gave memory back): 0 forgets it. */
  set(holder: K, bytes: number): void {
    if (!(bytes >= 0)) throw new RangeError(`held bytes must be >= 0, not ${bytes}`);
    this.#heldBytes += bytes - this.heldBy(holder);
    if (bytes === 0) this.#held.delete(holder);
    else this.#held.set(holder, bytes);
    this.#assertConsistent();
  }

  #assertConsistent(): void {
    if (this.#heldBytes < 0) throw new Error(`client memory budget: held bytes went negative (${this.#heldBytes})`);
    if (this.#held.size === 0 && this.#heldBytes !== 0) {
      throw new Error(`client memory budget: ${this.#heldBytes} bytes held by no holder`);
    }
  }
}

/**
 * The budget a store of `requestBytesMax` gets: `configuredBytes` when given (> 0), else the
 * default (see CLIENT_MEMORY_BYTES_DEFAULT_MIN). A configured budget smaller than one request
 * is allowed: it then bounds the largest frame too.
 */
export function clientMemoryBytesFor(configuredBytes: number | undefined, requestBytesMax: number): number {
  if (configuredBytes !== undefined && configuredBytes > 0) return configuredBytes;
  return Math.max(CLIENT_MEMORY_BYTES_DEFAULT_MIN, 2 * requestBytesMax);
}

/** The error a refused client gets: names the limit, its share and the flag that sets it. */
export function budgetRefusalMessage(what: string, refusal: BudgetRefusal): string {
  return `${what} would hold ${mib(refusal.requestedBytes)} of the store's memory for clients; ` +
    `this client's share is ${mib(refusal.shareBytes)} ` +
    `(${refusal.holders} clients holding ${mib(refusal.heldBytes)} ` +
    `of the ${mib(refusal.budgetBytes)} budget, --client-memory)`;
}
