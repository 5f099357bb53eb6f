/**
 * The store thread's handle on the spill I/O Worker: each call posts one request and resolves
 * when the Worker answers, so the store's loop never blocks on a file.
 * @module
 */
import type { ChunkInfo } from "../local_object.ts";
import { newSpillInstance } from "./spill_files.ts";
import type {
  FromSpillWorker,
  HelperHashPolicy,
  RestoreItem,
  RestoreTarget,
  SpillSource,
  ToSpillWorker,
} from "./messages.ts";

/** A spill, restore or delete that failed; the message names the directory and the cause. */
export class SpillError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpillError";
  }
}

type Pending = { resolve: (message: FromSpillWorker) => void; reject: (error: Error) => void };

/** The spill Worker itself, or a port to one started by another thread. */
interface SpillEndpoint {
  postMessage(message: ToSpillWorker): void;
  onmessage: ((event: MessageEvent<FromSpillWorker>) => void) | null;
}

/**
 * Starts a spill I/O Worker for a store that runs in another Worker: it serves the store through
 * `port`, one end of a channel whose other end the store holds ({@linkcode SpillIo.overPort});
 * what the store posts before the Worker runs waits in the channel. Call it from the main thread:
 * a Worker started from inside a Worker took ~1 s to boot here (measured in Deno 2.9.6), ~35 ms
 * from the main thread, and the first spill waits for it.
 * @param moduleUrl the Worker's module: spill_io_worker.ts, or a bundle of it
 */
export function spawnSpillWorker(
  port: MessagePort,
  moduleUrl: URL = new URL("./spill_io_worker.ts", import.meta.url),
): Worker {
  const worker = new Worker(moduleUrl, { type: "module" });
  worker.postMessage({ type: "port", port } satisfies ToSpillWorker, [port]);
  return worker;
}

export class SpillIo {
  readonly #endpoint: SpillEndpoint;
  readonly #end: () => void;
  readonly #pending = new Map<number, Pending>();
  #nextRequestId = 1;
  #restoreBatch: RestoreItem[] = [];
  #closed: Promise<void> | undefined;
  #onClosed: (() => void) | undefined;

  private constructor(endpoint: SpillEndpoint, end: () => void) {
    this.#endpoint = endpoint;
    this.#end = end;
    endpoint.onmessage = (event: MessageEvent<FromSpillWorker>) => this.#receive(event.data);
  }

  /**
   * Starts the Worker with the chunks it may read and write.
   * @param helperHash where large records' checksums are computed (the store's is `auto`)
   */
  static start(chunks: ChunkInfo[], helperHash: HelperHashPolicy = "auto"): SpillIo {
    const worker = new Worker(new URL("./spill_io_worker.ts", import.meta.url), { type: "module" });
    worker.postMessage({ type: "init", chunks, instance: newSpillInstance(), helperHash } satisfies ToSpillWorker);
    return new SpillIo(worker, () => worker.terminate());
  }

  /** Uses a Worker started elsewhere ({@linkcode spawnSpillWorker}), giving it the chunks. */
  static overPort(port: MessagePort, chunks: ChunkInfo[]): SpillIo {
    port.postMessage({ type: "init", chunks, instance: newSpillInstance() } satisfies ToSpillWorker);
    return new SpillIo(port, () => port.close());
  }

  /** Requests not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Writes the objects into one new file in `directory`; resolves to the file and each object's URL. */
  async spill(directory: string, objects: SpillSource[]): Promise<{ path: string; urls: string[] }> {
    const reply = await this.#request((requestId) => ({ type: "spill", requestId, directory, objects }));
    if (reply.type !== "spilled") throw new SpillError(`unexpected reply ${reply.type}`);
    return { path: reply.path, urls: reply.urls };
  }

  /**
   * Reads the object at `url` into `target`.
   * @throws {SpillError} naming the damage when the file is missing, cut short or changed
   */
  restore(url: string, target: RestoreTarget): Promise<void> {
    if (this.#closed) return Promise.reject(new SpillError("spill I/O is closed"));
    const requestId = this.#nextRequestId++;
    // Restores asked for in the same turn (one get of many spilled ids) go as one request: one
    // message each way, and each spill file opened once for all of its objects.
    if (this.#restoreBatch.length === 0) queueMicrotask(() => this.#sendRestores());
    this.#restoreBatch.push({ requestId, url, target });
    return new Promise((resolve, reject) => this.#pending.set(requestId, { resolve: () => resolve(), reject }));
  }

  /** Removes a spill file (a missing file is fine). */
  async deleteFile(path: string): Promise<void> {
    await this.#request((requestId) => ({ type: "delete", requestId, path }));
  }

  /**
   * Removes this store's spill files (their objects end with the store) and those of dead
   * stores, unmaps the chunks and ends the Worker; pending requests fail. Safe twice.
   */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#onClosed?.(), 2_000);
      this.#onClosed = () => {
        clearTimeout(timer);
        this.#end();
        for (const pending of this.#pending.values()) pending.reject(new SpillError("spill I/O closed"));
        this.#pending.clear();
        resolve();
      };
      this.#endpoint.postMessage({ type: "close" } satisfies ToSpillWorker);
    });
    return this.#closed;
  }

  #sendRestores(): void {
    const items = this.#restoreBatch;
    this.#restoreBatch = [];
    if (this.#closed) return; // close() has rejected them
    this.#endpoint.postMessage({ type: "restore", items });
  }

  #request(message: (requestId: number) => ToSpillWorker): Promise<FromSpillWorker> {
    if (this.#closed) return Promise.reject(new SpillError("spill I/O is closed"));
    const requestId = this.#nextRequestId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(requestId, { resolve, reject });
      this.#endpoint.postMessage(message(requestId));
    });
  }

  #settleRestores(results: { requestId: number; error?: string }[]): void {
    for (const { requestId, error } of results) {
      const pending = this.#pending.get(requestId);
      if (pending === undefined) continue;
      this.#pending.delete(requestId);
      if (error === undefined) pending.resolve({ type: "restored", results: [] });
      else pending.reject(new SpillError(error));
    }
  }

  #receive(message: FromSpillWorker): void {
    if (message.type === "closed") return this.#onClosed?.();
    if (message.type === "restored") return this.#settleRestores(message.results);
    const pending = this.#pending.get(message.requestId);
    if (pending === undefined) return;
    this.#pending.delete(message.requestId);
    if (message.type === "failed") pending.reject(new SpillError(message.message));
    else pending.resolve(message);
  }
}
