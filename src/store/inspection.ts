/**
 * Read-only views of the store for List and GetDebugString.
 * @module
 */
import { ObjectSource, ObjectState } from "../protocol/messages.ts";
import type { ObjectInfo } from "../protocol/messages.ts";
import type { PlasmaStore } from "./plasma_store.ts";
import { mib } from "./units.ts";

/** Every object with its sizes, references, state and times. */
export function listObjects(store: PlasmaStore): ObjectInfo[] {
  const objects: ObjectInfo[] = [];
  for (const object of store.objects()) {
    objects.push({
      objectId: object.id,
      dataSize: object.dataSize,
      metadataSize: object.metadataSize,
      refCount: object.refCount,
      state: object.state,
      source: object.source,
      createTimeMs: object.createTimeMs,
      constructDurationMs: object.constructDurationMs,
    });
  }
  return objects;
}

/** A human-readable summary, like Ray's GetDebugString. */
export function debugString(store: PlasmaStore): string {
  const stats = store.snapshot();
  const bySource = new Map<string, number>();
  let sealed = 0;
  for (const object of store.objects()) {
    const source = ObjectSource[object.source];
    bySource.set(source, (bySource.get(source) ?? 0) + 1);
    if (object.state === ObjectState.Sealed) sealed++;
  }
  return [
    `- objects: ${stats.numObjects} (${sealed} sealed, ${stats.numObjectsUnsealed} unsealed)`,
    `- memory: ${mib(stats.allocatedBytes)} of ${mib(stats.capacityBytes)} allocated; largest free block ${
      mib(stats.largestFreeBlockBytes)
    }`,
    `- in use: ${stats.numObjectsInUse} objects, ${mib(stats.numBytesInUse)}`,
    `- evictable: ${stats.numObjectsEvictable} objects, ${mib(stats.numBytesEvictable)}`,
    `- spillable: ${stats.numObjectsSpillable} objects, ${mib(stats.numBytesSpillable)}`,
    `- unsealed: ${stats.numObjectsUnsealed} objects, ${mib(stats.numBytesUnsealed)}`,
    `- by source: ${[...bySource].map(([name, count]) => `${name} ${count}`).join(", ") || "none"}`,
    `- created in total: ${mib(stats.numBytesCreatedTotal)}`,
    `- clients: ${stats.numClients}; pending gets: ${stats.numPendingGets}; queued creates: ${stats.numQueuedCreates}`,
    `- evicted: ${stats.numObjectsEvicted} objects, ${mib(stats.numBytesEvicted)}`,
    `- spilled: ${stats.numObjectsSpilled} objects, ${
      mib(stats.numBytesSpilled)
    }; on disk now: ${stats.numObjectsOnDisk} objects, ${mib(stats.numBytesOnDisk)} in ${stats.numSpillFiles} files`,
    `- restored from disk: ${stats.numObjectsRestoredFromDisk} objects, ${mib(stats.numBytesRestoredFromDisk)}`,
    `- fallback (in files): ${stats.numObjectsFallback} objects, ${mib(stats.numBytesFallback)}`,
  ].join("\n");
}
