/**
 * The ObjectStoreRunner: runs the store in a Deno Worker (thread isolation) so the main thread
 * stays free for the node's other duties, and hands the store's events to listeners there.
 * @module
 */
import type { TransferStats } from "../protocol/messages.ts";
import type { StoreEvent } from "../store/store_events.ts";
import type { StoreServerOptions } from "../store/store_server.ts";
import type { FromWorker, ToWorker } from "./messages.ts";

/** How long stop() waits for the Worker to close every client before terminating it. */
const STOP_TIMEOUT_MS = 4_000;

/** Receives the store's events on the main thread. */
export type StoreEventListener = (event: StoreEvent) => void;

export class ObjectStoreRunner {
  /** The store's capacity in bytes (after rounding). */
  readonly capacityBytes: number;
  readonly socketPath: string;
  readonly #worker: Worker;
  readonly #listeners = new Set<StoreEventListener>();
  readonly #failures = new Set<(message: string) => void>();
  #stopping: Promise<void> | undefined;
  #stopped: (() => void) | undefined;

  private constructor(worker: Worker, capacityBytes: number, socketPath: string) {
    this.#worker = worker;
    this.capacityBytes = capacityBytes;
    this.socketPath = socketPath;
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.#receive(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      for (const listener of this.#failures) listener(`store worker crashed: ${event.message}`);
    };
  }

  /**
   * Starts the store in a Worker; resolves once it listens.
   * @throws {Error} with the store's message when it cannot start (e.g. no memory, socket in use)
   */
  static start(options: StoreServerOptions): Promise<ObjectStoreRunner> {
    const worker = new Worker(new URL("./store_worker.ts", import.meta.url), { type: "module" });
    return new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        if (message.type === "started") {
          resolve(new ObjectStoreRunner(worker, message.capacityBytes, options.socketPath));
        } else if (message.type === "failed") {
          worker.terminate();
          reject(new Error(message.message));
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        worker.terminate();
        reject(new Error(`store worker failed to start: ${event.message}`));
      };
      worker.postMessage({ type: "start", options } satisfies ToWorker);
    });
  }

  /**
   * Adds a listener for the store's events (object added, deleted, store full). The store only
   * produces events once someone listens.
   */
  onEvent(listener: StoreEventListener): () => void {
    if (this.#listeners.size === 0) this.#worker.postMessage({ type: "subscribe" } satisfies ToWorker);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Hands the object manager's transfer counters to the store, which reports them in `stats`. */
  reportTransfers(stats: TransferStats): void {
    this.#worker.postMessage({ type: "transferStats", stats } satisfies ToWorker);
  }

  /** Adds a listener told if the store fails after starting (a bug: the node should exit). */
  onFailure(listener: (message: string) => void): void {
    this.#failures.add(listener);
  }

  /** Stops accepting, closes every client, removes the socket file and ends the Worker. Safe twice. */
  stop(): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#stopped?.(), STOP_TIMEOUT_MS);
      this.#stopped = () => {
        clearTimeout(timer);
        this.#worker.terminate();
        resolve();
      };
      this.#worker.postMessage({ type: "stop" } satisfies ToWorker);
    });
    return this.#stopping;
  }

  #receive(message: FromWorker): void {
    if (message.type === "events") {
      for (const event of message.events) for (const listener of this.#listeners) listener(event);
    } else if (message.type === "stopped") {
      this.#stopped?.();
    } else if (message.type === "failed") {
      for (const listener of this.#failures) listener(message.message);
    }
  }
}
