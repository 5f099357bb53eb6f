/**
 * `plasma stats`: the store's memory, objects, spilling, clients and queues in human units
 * (or the raw counters with `--json`). Read-only: it never changes the store.
 * @module
 */
import type { StoreStats } from "../../protocol/messages.ts";
import { objectsBySource, objectsByState, type Tally } from "../../observe/stats_view.ts";
import { humanBytes, percent } from "./format.ts";

/** The stats as aligned `name  value` lines, headed by the socket they came from. */
export function renderStats(socketPath: string, stats: StoreStats): string {
  const tally = ({ objects, bytes }: Tally) => `${objects} objects, ${humanBytes(bytes)}`;
  const states = objectsByState(stats);
  const sources = Object.entries(objectsBySource(stats))
    .filter(([, { objects }]) => objects > 0)
    .map(([label, { objects }]) => `${label} ${objects}`);
  const rows: [string, string][] = [
    ["capacity", humanBytes(stats.capacityBytes)],
    ["used", `${humanBytes(stats.allocatedBytes)} (${percent(stats.allocatedBytes, stats.capacityBytes)})`],
    ["largest free block", humanBytes(stats.largestFreeBlockBytes)],
    ["objects", `${stats.numObjects} (${states.sealed.objects} sealed, ${states.unsealed.objects} unsealed)`],
    ["by source", sources.join(", ") || "none"],
    ["in use", tally({ objects: stats.numObjectsInUse, bytes: stats.numBytesInUse })],
    ["evictable", tally({ objects: stats.numObjectsEvictable, bytes: stats.numBytesEvictable })],
    ["spillable", tally({ objects: stats.numObjectsSpillable, bytes: stats.numBytesSpillable })],
    ["unsealed", tally(states.unsealed)],
    [
      "spilled (on disk)",
      `${tally({ objects: stats.numObjectsOnDisk, bytes: stats.numBytesOnDisk })} in ${stats.numSpillFiles} files`,
    ],
    ["spilled (total)", tally({ objects: stats.numObjectsSpilled, bytes: stats.numBytesSpilled })],
    ["restored (total)", tally({ objects: stats.numObjectsRestoredFromDisk, bytes: stats.numBytesRestoredFromDisk })],
    ["evicted (total)", tally({ objects: stats.numObjectsEvicted, bytes: stats.numBytesEvicted })],
    ["fallback files", tally({ objects: stats.numObjectsFallback, bytes: stats.numBytesFallback })],
    ["created (total)", tally({ objects: stats.numObjectsCreatedTotal, bytes: stats.numBytesCreatedTotal })],
    ["get requests (total)", String(stats.numGetRequests)],
    ["clients", String(stats.numClients)],
    ["queues", `${stats.numPendingGets} pending gets, ${stats.numQueuedCreates} queued creates`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  return [`store ${socketPath}`, ...rows.map(([name, value]) => `  ${name.padEnd(width)}${value}`)].join("\n");
}
