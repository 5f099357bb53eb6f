/** Test fixture: store stats with chosen counters, for unit tests of what is derived from them. */
import type { StoreStats } from "../protocol/messages.ts";

/** Stats with every counter zero except `overrides`. */
export function statsWith(overrides: Partial<StoreStats>): StoreStats {
  const keys: (keyof StoreStats)[] = [
    "numObjectsInUse",
    "numBytesInUse",
    "numObjectsEvictable",
    "numBytesEvictable",
    "numObjectsSpillable",
    "numBytesSpillable",
    "numObjectsUnsealed",
    "numBytesUnsealed",
    "numObjectsCreatedByWorker",
    "numBytesCreatedByWorker",
    "numObjectsRestored",
    "numBytesRestored",
    "numObjectsReceived",
    "numBytesReceived",
    "numObjectsErrored",
    "numBytesErrored",
    "numBytesCreatedTotal",
    "numObjects",
    "capacityBytes",
    "allocatedBytes",
    "largestFreeBlockBytes",
    "numClients",
    "numPendingGets",
    "numQueuedCreates",
    "numObjectsEvicted",
    "numBytesEvicted",
    "numObjectsFallback",
    "numBytesFallback",
    "numObjectsSpilled",
    "numBytesSpilled",
    "numObjectsRestoredFromDisk",
    "numBytesRestoredFromDisk",
    "numObjectsOnDisk",
    "numBytesOnDisk",
    "numSpillFiles",
    "numRestoresFailed",
  ]; // deno-fmt-ignore
  return { ...Object.fromEntries(keys.map((key) => [key, 0])) as unknown as StoreStats, ...overrides };
}
