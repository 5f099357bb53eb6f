/**
 * An object this node is receiving, as a relay source: peers redirected here read the prefix that
 * has arrived (views of the created, unsealed buffer) and wait for the rest.
 * Invariant: the buffer is sealed or aborted only once no lent view is still being written out
 * (a relay stuck longer than the stall limit is cut), and no view is lent after that (a relay
 * then reads the sealed object from the store).
 * @module
 */
import { TRANSFER_STALL_MS } from "../cluster/constants.ts";

type State = "receiving" | "sealing" | "sealed" | "failed";

/** A view of arrived bytes; call `done()` once it has been written out. */
export interface LentView {
  view: Uint8Array;
  done(): void;
}

export class ReceivingObject {
  readonly dataSize: number;
  readonly metadataSize: number;
  readonly #target: Uint8Array;
  #received = 0;
  #state: State = "receiving";
  #failure: Error | null = null;
  #lent = 0;
  /** Resolved (and replaced) on every change, so waiters look again. */
  #changed!: Promise<void>;
  #wake!: () => void;
  /** Closes the connections of relays still writing when the object fails (so it can be aborted). */
  readonly #cancels = new Set<() => void>();

  readonly #stallMs: number;

  /** @param stallMs how long a relay may take to finish a lent write once the receive ends */
  constructor(target: Uint8Array, sizes: { dataSize: number; metadataSize: number }, stallMs = TRANSFER_STALL_MS) {
    this.#stallMs = stallMs;
    if (target.length !== sizes.dataSize + sizes.metadataSize) {
      throw new RangeError(
        `a buffer of ${target.length} bytes for an object of ${sizes.dataSize + sizes.metadataSize}`,
      );
    }
    this.#target = target;
    this.dataSize = sizes.dataSize;
    this.metadataSize = sizes.metadataSize;
    this.#renew();
  }

  get received(): number {
    return this.#received;
  }

  /** `bytes` more arrived, in order. */
  progress(bytes: number): void {
    if (this.#state !== "receiving") throw new Error(`progress on an object that is ${this.#state}`);
    if (this.#received + bytes > this.#target.length) throw new RangeError("more bytes than the object holds");
    this.#received += bytes;
    this.#notify();
  }

  /**
   * The next arrived bytes from `offset` (at most `bytesMax`), waiting until some arrive.
   * @returns a lent view, or "sealed" once the object is sealed (read it from the store)
   * @throws the receive's error when it failed
   */
  async lend(offset: number, bytesMax: number, cancel: () => void): Promise<LentView | "sealed"> {
    for (;;) {
      if (this.#state === "failed") throw this.#failure!;
      if (this.#state === "sealed") return "sealed";
      if (this.#state === "receiving" && this.#received > offset) {
        this.#lent++;
        this.#cancels.add(cancel);
        const view = this.#target.subarray(offset, Math.min(this.#received, offset + bytesMax));
        let returned = false;
        return {
          view,
          done: () => {
            if (returned) return;
            returned = true;
            this.#lent--;
            this.#cancels.delete(cancel);
            this.#notify();
          },
        };
      }
      await this.#changed;
    }
  }

  /**
   * Every byte arrived: waits until no view is lent, then lends none (the caller seals). A relay
   * whose peer stopped reading is cut after the stall limit, so it cannot hold the seal up.
   */
  async retire(): Promise<void> {
    if (this.#received !== this.#target.length) throw new Error("retiring an object not fully received");
    this.#state = "sealing";
    this.#notify();
    await this.#returned();
  }

  /** The object is sealed in the store: relays continue from there. */
  sealed(): void {
    this.#state = "sealed";
    this.#notify();
  }

  /**
   * The receive failed: relays get `error`; resolves once no view is lent (relays slower than
   * TRANSFER_STALL_MS to finish their write are cut), so the caller can abort the buffer.
   */
  async fail(error: Error): Promise<void> {
    this.#failure = error;
    this.#state = "failed";
    this.#notify();
    await this.#returned();
  }

  /** Waits until every lent view is returned, cutting the relays still writing after the stall limit. */
  async #returned(): Promise<void> {
    const cut = setTimeout(() => {
      for (const cancel of this.#cancels) cancel();
    }, this.#stallMs);
    try {
      while (this.#lent > 0) await this.#changed;
    } finally {
      clearTimeout(cut);
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#renew();
    wake();
  }

  #renew(): void {
    this.#changed = new Promise((resolve) => (this.#wake = resolve));
  }
}
