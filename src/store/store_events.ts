/**
 * Events the store reports to the thread that runs it (the runner's main thread), and through it
 * to the object manager.
 * @module
 */

/** A sealed object appeared (created by a client, restored, or received). */
export interface ObjectAddedEvent {
  type: "objectAdded";
  objectIdHex: string;
  dataSize: number;
  metadataSize: number;
  /** ObjectSource name: CreatedByWorker, RestoredFromStorage, ReceivedFromRemoteRaylet, ErrorStoredByRaylet. */
  source: string;
}

/** A sealed object left the store (deleted or evicted). */
export interface ObjectDeletedEvent {
  type: "objectDeleted";
  objectIdHex: string;
}

/** A create could not be served for lack of memory. */
export interface StoreFullEvent {
  type: "storeFull";
  requestedBytes: number;
  capacityBytes: number;
  allocatedBytes: number;
}

/** A batch of primary copies was written to a spill file and their memory freed. */
export interface ObjectsSpilledEvent {
  type: "objectsSpilled";
  count: number;
  bytes: number;
  /** Each object now only on disk, with its spill URL (the object manager serves peers from it). */
  objects: SpilledObject[];
}

/** Where a spilled object is: `url` is `PATH?offset=N&size=M&xxh3=HEX` (spill_format.ts). */
export interface SpilledObject {
  objectIdHex: string;
  dataSize: number;
  metadataSize: number;
  url: string;
}

/** A spilled object was read back into memory (for a get). */
export interface ObjectRestoredEvent {
  type: "objectRestored";
  objectIdHex: string;
  sizeBytes: number;
}

/** A spill failed (e.g. a full disk); every object stayed in memory. */
export interface SpillFailedEvent {
  type: "spillFailed";
  message: string;
}

/**
 * Reading a spilled object back failed (its file is missing or damaged, or an I/O error): the
 * gets waiting for it were answered with the error at once.
 */
export interface RestoreFailedEvent {
  type: "restoreFailed";
  objectIdHex: string;
  message: string;
}

/**
 * A get started waiting (priority "get"), or a fetch asked (priority "fetch"), for ids that are
 * neither in memory nor on disk here (for the object manager: a pull from another node could
 * satisfy it).
 */
export interface ObjectsWantedEvent {
  type: "objectsWanted";
  objectIdsHex: string[];
  priority: "get" | "fetch";
}

/** A client asked for these objects to be deleted on every node (cluster mode). */
export interface DeleteEverywhereEvent {
  type: "deleteEverywhere";
  objectIdsHex: string[];
}

export type StoreEvent =
  | ObjectAddedEvent
  | ObjectDeletedEvent
  | StoreFullEvent
  | ObjectsSpilledEvent
  | ObjectRestoredEvent
  | SpillFailedEvent
  | RestoreFailedEvent
  | ObjectsWantedEvent
  | DeleteEverywhereEvent;

/** Where the store sends its events. */
export type StoreEventSink = (event: StoreEvent) => void;
