/**
 * Decoded protocol messages as plain objects: what encoders take and decoders return.
 * Ids are byte views; a decoder's views point into the frame buffer and are valid only until
 * the next frame is read (copy them to keep them).
 * @module
 */
export { ErrorCode } from "./generated/error-code.ts";
export { MessageType } from "./generated/message-type.ts";
export { ObjectSource } from "./generated/object-source.ts";
export { ObjectState } from "./generated/object-state.ts";
import type { ErrorCode } from "./generated/error-code.ts";
import type { ObjectSource } from "./generated/object-source.ts";
import type { ObjectState } from "./generated/object-state.ts";

/** Where an object's bytes live inside a chunk. */
export interface ObjectSpec {
  storeFd: number;
  uniqueFdId: number;
  mmapSize: number;
  dataOffset: number;
  /** -1 for an object that was not found. */
  dataSize: number;
  metadataOffset: number;
  metadataSize: number;
  allocatedSize: number;
  fallbackAllocated: boolean;
  deviceNum: number;
}

/** A chunk a reply refers to; `fdFollows` when its fd is sent after the reply. */
export interface ChunkRef {
  storeFd: number;
  uniqueFdId: number;
  mmapSize: number;
  fdFollows: boolean;
}

export interface ConnectReply {
  memoryCapacity: number;
  requestBytesMax: number;
  idsPerRequestMax: number;
}

export interface CreateRequest {
  objectId: Uint8Array;
  dataSize: number;
  metadataSize: number;
  source: ObjectSource;
  deviceNum: number;
  tryImmediately: boolean;
  ownerRayletId?: Uint8Array;
  ownerIpAddress?: Uint8Array;
  ownerPort?: number;
  ownerWorkerId?: Uint8Array;
}

export interface CreateRetryRequest {
  objectId: Uint8Array;
  requestId: number;
}

export interface CreateReply {
  objectId: Uint8Array;
  retryWithRequestId: number;
  spec: ObjectSpec | null;
  chunk: ChunkRef | null;
  error: ErrorCode;
  message: string;
}

export interface IdRequest {
  objectId: Uint8Array;
}

export interface IdsRequest {
  objectIds: Uint8Array[];
}

export interface SealRequest extends IdsRequest {
  release: boolean;
}

export interface GetRequest extends IdsRequest {
  timeoutMs: number;
}

export interface ReleaseRequest extends IdRequest {
  mayUnmap: boolean;
}

/** Per-id results (seal, delete, create-and-seal). */
export interface IdsReply {
  objectIds: Uint8Array[];
  errors: ErrorCode[];
}

export interface IdReply {
  objectId: Uint8Array;
  error: ErrorCode;
}

export interface GetReply {
  objectIds: Uint8Array[];
  specs: ObjectSpec[];
  chunks: ChunkRef[];
}

export interface ContainsReply {
  objectId: Uint8Array;
  hasObject: boolean;
}

export interface ObjectInfo {
  objectId: Uint8Array;
  dataSize: number;
  metadataSize: number;
  refCount: number;
  state: ObjectState;
  source: ObjectSource;
  createTimeMs: number;
  constructDurationMs: number;
}

/** Transfers between nodes, counted by the object manager (cluster mode; zero on a single node). */
export interface TransferStats {
  numObjectsPulled: number;
  numBytesPulled: number;
  numObjectsPushed: number;
  numBytesPushed: number;
  numPullsInFlight: number;
  /** Live: bytes of admitted pulls not yet sealed. */
  numBytesPulling: number;
  numPullsFailed: number;
  /** Peer connections closed for failing authentication or breaking the protocol. */
  numPeersRejected: number;
}

/** Every transfer counter at zero: a single node's figures. */
export const NO_TRANSFERS: Readonly<TransferStats> = {
  numObjectsPulled: 0,
  numBytesPulled: 0,
  numObjectsPushed: 0,
  numBytesPushed: 0,
  numPullsInFlight: 0,
  numBytesPulling: 0,
  numPullsFailed: 0,
  numPeersRejected: 0,
};

/** The store's counters (Ray's names in camelCase) plus memory figures and transfer counters. */
export interface StoreStats extends TransferStats {
  numObjectsInUse: number;
  numBytesInUse: number;
  numObjectsEvictable: number;
  numBytesEvictable: number;
  numObjectsSpillable: number;
  numBytesSpillable: number;
  numObjectsUnsealed: number;
  numBytesUnsealed: number;
  numObjectsCreatedByWorker: number;
  numBytesCreatedByWorker: number;
  numObjectsRestored: number;
  numBytesRestored: number;
  numObjectsReceived: number;
  numBytesReceived: number;
  numObjectsErrored: number;
  numBytesErrored: number;
  numBytesCreatedTotal: number;
  numObjects: number;
  capacityBytes: number;
  allocatedBytes: number;
  largestFreeBlockBytes: number;
  numClients: number;
  numPendingGets: number;
  numQueuedCreates: number;
  numObjectsEvicted: number;
  numBytesEvicted: number;
  numObjectsFallback: number;
  numBytesFallback: number;
  numObjectsSpilled: number;
  numBytesSpilled: number;
  numObjectsRestoredFromDisk: number;
  numBytesRestoredFromDisk: number;
  numObjectsOnDisk: number;
  numBytesOnDisk: number;
  numSpillFiles: number;
  /** Restores that failed since start (spill file missing or damaged, I/O error); their gets got an error. */
  numRestoresFailed: number;
  /** Get requests received since start, from either dialect; each is answered once unless its client leaves first. */
  numGetRequests: number;
  /** Objects allocated since start from any source (the count beside numBytesCreatedTotal). */
  numObjectsCreatedTotal: number;
  /** Connections closed since start because serving them threw: a store bug, contained to that client. */
  numServeErrors: number;
  /** Clients closed since start because they would have held more than their share of the client memory budget. */
  numClientMemoryRefusals: number;
  /** Bytes clients make the store hold now outside object memory (receive buffers grown for large frames, notification backlogs). */
  clientMemoryBytes: number;
}

export interface DeleteRequest {
  objectIds: Uint8Array[];
  /** Cluster mode: delete every node's copy. */
  everywhere: boolean;
}

export interface ObjectToWrite {
  objectId: Uint8Array;
  data: Uint8Array;
  metadata: Uint8Array;
}

export interface CreateAndSealRequest {
  objects: ObjectToWrite[];
  /** The objects are copies pulled from another node (the store marks them so). */
  receivedFromRemote?: boolean;
}

export interface ErrorReply {
  requestType: number;
  error: ErrorCode;
  message: string;
}
