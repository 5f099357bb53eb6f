/**
 * The Worker that runs the store: all of the store's state lives on this thread. It reports
 * events to the main thread in batches (one postMessage per batch, not per object).
 * @module
 */
/// <reference lib="deno.worker" />
import type { StoreEvent } from "../store/store_events.ts";
import { StoreServer } from "../store/store_server.ts";
import type { FromWorker, ToWorker } from "./messages.ts";

const EVENTS_PER_BATCH_MAX = 1024;
/**
 * Routine events (objects added, deleted, spilled, restored) wait up to this long to go in one
 * message: a message per put woke the main thread once per object, and in cluster mode that
 * thread's work competed with the store and its clients for the CPUs (1 KiB puts with --cluster:
 * median 0.7x of a single node's with a message per put, 0.83x every 2 ms, 0.93x every 20 ms;
 * bench/README.md). The object manager gathers locations over 20 ms anyway. Events someone waits
 * on (objects wanted, store full, failures) go at once, with whatever is pending before them.
 */
const ROUTINE_EVENTS_DELAY_MS = 20;
const ROUTINE_EVENTS = new Set<StoreEvent["type"]>([
  "objectAdded",
  "objectDeleted",
  "objectsSpilled",
  "objectRestored",
]);

let server: StoreServer | undefined;
let pending: StoreEvent[] = [];
let flushScheduled = false;
let routineTimer: ReturnType<typeof setTimeout> | undefined;

function post(message: FromWorker): void {
  self.postMessage(message);
}

function flushEvents(): void {
  flushScheduled = false;
  clearTimeout(routineTimer);
  routineTimer = undefined;
  if (pending.length === 0) return;
  post({ type: "events", events: pending });
  pending = [];
}

function emit(event: StoreEvent): void {
  pending.push(event);
  if (pending.length >= EVENTS_PER_BATCH_MAX) return flushEvents();
  if (ROUTINE_EVENTS.has(event.type)) {
    routineTimer ??= setTimeout(flushEvents, ROUTINE_EVENTS_DELAY_MS);
    return;
  }
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(flushEvents);
  }
}

async function start(message: Extract<ToWorker, { type: "start" }>): Promise<void> {
  try {
    server = new StoreServer({ ...message.options, spillPort: message.spillPort });
  } catch (error) {
    return post({ type: "failed", message: (error as Error).message });
  }
  post({ type: "started", capacityBytes: server.store.capacityBytes });
  try {
    await server.start();
  } catch (error) {
    // A bug in the store: report it loudly and let the main thread decide (it exits non-zero).
    post({ type: "failed", message: `store loop failed: ${(error as Error).stack ?? error}` });
  }
}

async function stop(): Promise<void> {
  await server?.stop();
  flushEvents();
  post({ type: "stopped" });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  if (event.data.type === "start") void start(event.data);
  else if (event.data.type === "subscribe") server?.store.subscribe(emit);
  else if (event.data.type === "stop") void stop();
  else if (event.data.type === "transferStats" && server) server.store.transferStats = event.data.stats;
};
