/**
 * The ObjectStoreRunner: runs the store in a Deno Worker (thread isolation) so the main thread
 * stays free for the node's other duties, and hands the store's events to listeners there.
 * @module
 */
import { closeFd } from "../../ffi/shared_memory.ts";
import { listenUnix } from "../../ffi/unix_socket.ts";
import { spawnSpillWorker } from "../store/spill_io/spill_io.ts";
import { serveSpillIo } from "../store/spill_io/spill_io_worker.ts";
import type { TransferStats } from "../protocol/messages.ts";
import type { StoreEvent } from "../store/store_events.ts";
import type { StoreServerOptions } from "../store/store_server.ts";
import type { FromWorker, ToWorker } from "./messages.ts";

/**
 * Name bundles of store_worker.ts and spill_io_worker.ts (`deno bundle`) to run instead of their
 * modules: a bundle boots ~4x faster (bin/plasma-store-server makes them, since Arrow's tests
 * start a store per test). Unset: the Workers run from source.
 */
export const STORE_WORKER_BUNDLE_ENV = "PLASMA_STORE_WORKER_BUNDLE";
/** See {@linkcode STORE_WORKER_BUNDLE_ENV}. */
export const SPILL_WORKER_BUNDLE_ENV = "PLASMA_SPILL_WORKER_BUNDLE";

/** The bundle named by `variable` (when env is readable), else undefined. */
function bundleUrl(variable: string): URL | undefined {
  let bundle: string | undefined;
  try {
    bundle = Deno.env.get(variable);
  } catch {
    bundle = undefined; // no env permission: the source it is
  }
  return bundle ? new URL(`file://${bundle}`) : undefined;
}

/**
 * Serves the store's spill I/O on this (main) thread when it is free for it: a single node's main
 * thread idles once the store runs, and a spill Worker's isolate costs ~60-100 ms of CPU at each
 * start. In cluster mode the object manager runs here, so a Worker serves it (as for a second
 * store in one process).
 * @returns the Worker started, or null when this thread serves
 */
function startSpillIo(port: MessagePort, clusterMode: boolean): Worker | null {
  if (!clusterMode && serveSpillIo(port)) return null;
  return spawnSpillWorker(port, bundleUrl(SPILL_WORKER_BUNDLE_ENV));
}

/**
 * Creates the store's Worker, which loads its code until {@linkcode ObjectStoreRunner.start} gives
 * it the options. Creating it first thing lets it boot while the main thread parses flags and
 * checks directories; creating a Worker holds this thread until the Worker's isolate exists.
 */
export function bootStoreWorker(): Worker {
  return new Worker(bundleUrl(STORE_WORKER_BUNDLE_ENV) ?? new URL("./store_worker.ts", import.meta.url), {
    type: "module",
  });
}

/** How long stop() waits for the Worker to close every client before terminating it. */
const STOP_TIMEOUT_MS = 4_000;

/** Receives the store's events on the main thread. */
export type StoreEventListener = (event: StoreEvent) => void;

export class ObjectStoreRunner {
  /** The store's capacity in bytes (after rounding). */
  readonly capacityBytes: number;
  readonly socketPath: string;
  readonly #worker: Worker;
  /** Ends the store's Worker and the spill Worker started beside it. */
  readonly #terminate: () => void;
  readonly #listeners = new Set<StoreEventListener>();
  readonly #failures = new Set<(message: string) => void>();
  #stopping: Promise<void> | undefined;
  #stopped: (() => void) | undefined;

  private constructor(worker: Worker, capacityBytes: number, socketPath: string, terminate: () => void) {
    this.#worker = worker;
    this.#terminate = terminate;
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
   * @param booted the store's Worker from {@linkcode bootStoreWorker}; by default one is created once listening
   * @throws {Error} with the store's message when it cannot start (e.g. no memory, socket in use)
   */
  static start(options: StoreServerOptions, booted?: Worker): Promise<ObjectStoreRunner> {
    // Listening before the Worker boots (~250 ms of CPU): a client that connects meanwhile is
    // answered once the store runs, where it would otherwise be refused and retry (Arrow's
    // clients give up after 5 s, which a loaded machine can reach).
    let listenFd: number;
    try {
      listenFd = options.listenFd ?? listenUnix(options.socketPath, { mode: options.socketMode ?? 0o600 });
    } catch (error) {
      booted?.terminate();
      return Promise.reject(error);
    }
    const unlisten = () => {
      closeFd(listenFd);
      Deno.remove(options.socketPath).catch(() => {}); // gone already is fine
    };
    const worker = booted ?? bootStoreWorker();
    // The spill Worker starts after the store's start message is posted: creating a Worker holds
    // this thread until its isolate exists (~20-80 ms), which the store's Worker need not wait
    // for (its first spill does, through the channel). Started here, beside the store's Worker
    // rather than inside it, where it boots ~30x slower.
    const spillChannel = options.spillDirectory ? new MessageChannel() : null;
    const start: ToWorker = { type: "start", options: { ...options, listenFd }, spillPort: spillChannel?.port2 };
    worker.postMessage(start, spillChannel ? [spillChannel.port2] : []);
    const spillWorker = spillChannel ? startSpillIo(spillChannel.port1, options.clusterMode ?? false) : null;
    const terminate = () => {
      worker.terminate();
      if (spillWorker) spillWorker.terminate();
      else spillChannel?.port1.close(); // served here
    };
    return new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        if (message.type === "started") {
          resolve(new ObjectStoreRunner(worker, message.capacityBytes, options.socketPath, terminate));
        } else if (message.type === "failed") {
          terminate();
          unlisten();
          reject(new Error(message.message));
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        terminate();
        unlisten();
        reject(new Error(`store worker failed to start: ${event.message}`));
      };
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
        this.#terminate();
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
