/**
 * Messages between the runner (main thread) and the store's Worker.
 * @module
 */
import type { TransferStats } from "../protocol/messages.ts";
import type { StoreEvent } from "../store/store_events.ts";
import type { StoreServerOptions } from "../store/store_server.ts";

export type ToWorker =
  /** spillPort: a spill I/O Worker the main thread started, transferred (see spawnSpillWorker). */
  | { type: "start"; options: StoreServerOptions; spillPort?: MessagePort }
  | { type: "subscribe" }
  | { type: "transferStats"; stats: TransferStats }
  | { type: "stop" };

export type FromWorker =
  | { type: "started"; capacityBytes: number }
  | { type: "failed"; message: string }
  | { type: "events"; events: StoreEvent[] }
  | { type: "stopped" };
