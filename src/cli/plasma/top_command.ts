/**
 * `plasma top`: a live view of a store, redrawn in place on a terminal every interval (a memory
 * gauge, objects by state and source, get/create/evict/spill/restore rates, clients and queues).
 * Piped, each frame is printed after the previous one; `--json` prints one JSON object per frame.
 * @module
 */
import type { PlasmaClient } from "../../client/mod.ts";
import type { StoreStats } from "../../protocol/messages.ts";
import {
  excludingObserver,
  objectsBySource,
  objectsByState,
  type Rates,
  ratesBetween,
} from "../../observe/stats_view.ts";
import { gauge, humanBytes, humanRate, percent } from "./format.ts";

/** Width of the memory gauge in cells. */
const GAUGE_CELLS = 40;

/** One sample of the store and the rates since the previous one. */
export interface TopFrame {
  timeMs: number;
  stats: StoreStats;
  rates: Rates;
}

/** A frame as text lines (no escape codes: the caller places it on the screen). */
export function renderTopFrame(socketPath: string, frame: TopFrame, intervalMs: number): string {
  const { stats, rates } = frame;
  const states = objectsByState(stats);
  const sources = Object.entries(objectsBySource(stats)).filter(([, tally]) => tally.objects > 0)
    .map(([label, tally]) => `${label} ${tally.objects} (${humanBytes(tally.bytes)})`);
  const pair = (objects: number, bytes: number) => `${humanRate(objects, "count")} (${humanRate(bytes, "bytes")})`;
  return [
    `plasma top  ${socketPath}  ${new Date(frame.timeMs).toISOString()}  every ${intervalMs / 1000}s`,
    `memory   ${gauge(stats.allocatedBytes / Math.max(1, stats.capacityBytes), GAUGE_CELLS)} ${
      percent(stats.allocatedBytes, stats.capacityBytes)
    }  ${humanBytes(stats.allocatedBytes)} of ${humanBytes(stats.capacityBytes)}`,
    `objects  ${stats.numObjects}: ${states.sealed.objects} sealed, ${states.unsealed.objects} unsealed; ` +
    `${stats.numObjectsInUse} in use, ${stats.numObjectsEvictable} evictable, ${stats.numObjectsSpillable} spillable`,
    `sources  ${sources.join(", ") || "none"}`,
    `rates    get ${humanRate(rates.getRequestsPerSecond, "count")}; create ${
      pair(rates.createdObjectsPerSecond, rates.createdBytesPerSecond)
    }; evict ${pair(rates.evictedObjectsPerSecond, rates.evictedBytesPerSecond)}; spill ${
      pair(rates.spilledObjectsPerSecond, rates.spilledBytesPerSecond)
    }; restore ${pair(rates.restoredObjectsPerSecond, rates.restoredBytesPerSecond)}`,
    `disk     ${stats.numObjectsOnDisk} objects spilled (${
      humanBytes(stats.numBytesOnDisk)
    } in ${stats.numSpillFiles} files); ` +
    `${stats.numObjectsFallback} in fallback files (${humanBytes(stats.numBytesFallback)})`,
    `clients  ${stats.numClients}; ${stats.numPendingGets} pending gets; ${stats.numQueuedCreates} queued creates`,
  ].join("\n");
}

/** Options of {@linkcode runTop}. */
export interface TopOptions {
  socketPath: string;
  intervalMs: number;
  /** Frames to show before returning; unbounded when undefined (until `signal` aborts). */
  iterations?: number;
  json: boolean;
  signal: AbortSignal;
  /** Where frames go: stdout in real use. */
  output: { isTerminal(): boolean; writeSync(bytes: Uint8Array): number };
}

/** Samples the store every interval and shows each frame until the iterations end or the signal aborts. */
export async function runTop(client: PlasmaClient, options: TopOptions): Promise<void> {
  const encoder = new TextEncoder();
  const terminal = !options.json && options.output.isTerminal();
  const write = (text: string) => options.output.writeSync(encoder.encode(text));
  let previous = { timeMs: Date.now(), stats: excludingObserver(await client.stats()) };
  // On a terminal: hide the cursor while drawing, and show it again however the loop ends.
  if (terminal) write("\x1b[?25l");
  try {
    for (let shown = 0; options.iterations === undefined || shown < options.iterations; shown++) {
      if (shown > 0 && !(await sleep(options.intervalMs, options.signal))) return;
      // The first frame's rates cover a short first interval, so it is not all zeros.
      if (shown === 0 && !(await sleep(Math.min(options.intervalMs, 250), options.signal))) return;
      const current = { timeMs: Date.now(), stats: excludingObserver(await client.stats()) };
      const frame = {
        ...current,
        rates: ratesBetween(previous.stats, current.stats, current.timeMs - previous.timeMs),
      };
      previous = current;
      if (options.json) write(`${JSON.stringify(frame)}\n`);
      else if (terminal) write(`\x1b[H\x1b[J${renderTopFrame(options.socketPath, frame, options.intervalMs)}\n`);
      else write(`${renderTopFrame(options.socketPath, frame, options.intervalMs)}\n\n`);
    }
  } finally {
    if (terminal) write("\x1b[?25h");
  }
}

/** Waits `ms`; false when the signal aborted the wait. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
