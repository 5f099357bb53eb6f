/**
 * Figures derived from the store's counters, shared by the CLI, the metrics endpoint and the
 * dashboard so that all three show the same numbers: objects by state and source, and rates
 * between two samples. Invariant: the states partition the objects (sealed + unsealed = all).
 * @module
 */
import type { StoreStats } from "../protocol/messages.ts";

/** Object counts and bytes of one group. */
export interface Tally {
  objects: number;
  bytes: number;
}

/**
 * The label of each object source in metrics and the CLI (Ray's enum names, shortened, in
 * snake_case): the enum name the store reports, and the counters that count the source.
 */
export const SOURCE_LABELS = {
  created_by_worker: {
    name: "CreatedByWorker",
    objects: "numObjectsCreatedByWorker",
    bytes: "numBytesCreatedByWorker",
  },
  restored_from_storage: { name: "RestoredFromStorage", objects: "numObjectsRestored", bytes: "numBytesRestored" },
  received_from_remote: { name: "ReceivedFromRemoteRaylet", objects: "numObjectsReceived", bytes: "numBytesReceived" },
  error_stored: { name: "ErrorStoredByRaylet", objects: "numObjectsErrored", bytes: "numBytesErrored" },
} as const satisfies Record<string, { name: string; objects: keyof StoreStats; bytes: keyof StoreStats }>;

/** A source label. */
export type SourceLabel = keyof typeof SOURCE_LABELS;

/** The label of a source enum name as the client's `list()` reports it (unknown names pass through). */
export function sourceLabel(name: string): string {
  return Object.entries(SOURCE_LABELS).find(([, source]) => source.name === name)?.[0] ?? name;
}

/** Objects by source; the sources partition the objects in memory. */
export function objectsBySource(stats: StoreStats): Record<SourceLabel, Tally> {
  const bySource = {} as Record<SourceLabel, Tally>;
  for (const [label, { objects, bytes }] of Object.entries(SOURCE_LABELS)) {
    bySource[label as SourceLabel] = { objects: stats[objects], bytes: stats[bytes] };
  }
  return bySource;
}

/** Objects by lifecycle state: sealed (immutable, visible) or unsealed (being written). */
export function objectsByState(stats: StoreStats): { sealed: Tally; unsealed: Tally } {
  const totalBytes = Object.values(objectsBySource(stats)).reduce((sum, tally) => sum + tally.bytes, 0);
  return {
    sealed: { objects: stats.numObjects - stats.numObjectsUnsealed, bytes: totalBytes - stats.numBytesUnsealed },
    unsealed: { objects: stats.numObjectsUnsealed, bytes: stats.numBytesUnsealed },
  };
}

/** Per-second rates of the store's running totals between two samples. */
export interface Rates {
  getRequestsPerSecond: number;
  createdObjectsPerSecond: number;
  createdBytesPerSecond: number;
  evictedObjectsPerSecond: number;
  evictedBytesPerSecond: number;
  spilledObjectsPerSecond: number;
  spilledBytesPerSecond: number;
  restoredObjectsPerSecond: number;
  restoredBytesPerSecond: number;
}

/** Which running total each rate follows. */
const RATE_SOURCES: Record<keyof Rates, keyof StoreStats> = {
  getRequestsPerSecond: "numGetRequests",
  createdObjectsPerSecond: "numObjectsCreatedTotal",
  createdBytesPerSecond: "numBytesCreatedTotal",
  evictedObjectsPerSecond: "numObjectsEvicted",
  evictedBytesPerSecond: "numBytesEvicted",
  spilledObjectsPerSecond: "numObjectsSpilled",
  spilledBytesPerSecond: "numBytesSpilled",
  restoredObjectsPerSecond: "numObjectsRestoredFromDisk",
  restoredBytesPerSecond: "numBytesRestoredFromDisk",
};

/**
 * Rates between an earlier and a later sample taken `elapsedMs` apart (zero when no time passed;
 * a total that went down, e.g. after a store restart, counts from zero).
 */
export function ratesBetween(earlier: StoreStats, later: StoreStats, elapsedMs: number): Rates {
  const rates = {} as Rates;
  for (const [rate, total] of Object.entries(RATE_SOURCES)) {
    const delta = later[total] >= earlier[total] ? later[total] - earlier[total] : later[total];
    rates[rate as keyof Rates] = elapsedMs > 0 ? (delta * 1000) / elapsedMs : 0;
  }
  return rates;
}

/**
 * The stats as an observer (the CLI, the metrics endpoint) should show them: its own connection
 * is not counted among the clients.
 */
export function excludingObserver(stats: StoreStats): StoreStats {
  return { ...stats, numClients: Math.max(0, stats.numClients - 1) };
}
