/**
 * Arrow's dialect (pyarrow.plasma, pyarrow <= 11) as plain objects: what its decoders return and
 * its encoders take. Id byte views of decoded requests point into the frame buffer.
 * @module
 */
export { ErrorCode as ArrowErrorCode } from "./generated/error-code.ts";
export { MessageType as ArrowMessageType } from "./generated/message-type.ts";
import type { ErrorCode as ArrowErrorCode } from "./generated/error-code.ts";

/** The first header word of every frame in Arrow's dialect (its protocol version). */
export const ARROW_VERSION = 0n;
/** Arrow's object ids are exactly this long. */
export const ARROW_ID_BYTES = 20;
/** Arrow's digests (a hash the client computes at seal) are this long. */
export const ARROW_DIGEST_BYTES = 8;
/**
 * Most bytes one requested id adds to a reply (a GetReply: the id as a FlatBuffers string with
 * its vector slot, 4 + 4 + 20 + 1 rounded up to 32, plus a 48-byte ObjectSpec struct); checked
 * against the encoder in encode_test.ts.
 */
export const ARROW_REPLY_BYTES_PER_ID_MAX = 80;
/** Most bytes of a reply that do not depend on its id count (tables, vector headers, a few segments). */
export const ARROW_REPLY_FIXED_BYTES_MAX = 64 * 1024;

export interface ArrowCreateRequest {
  objectId: Uint8Array;
  evictIfFull: boolean;
  dataSize: number;
  metadataSize: number;
  deviceNum: number;
}

/** One object of a CreateAndSeal (a batch has several). */
export interface ArrowInlineObject {
  objectId: Uint8Array;
  data: Uint8Array;
  metadata: Uint8Array;
  digest: Uint8Array;
}

export interface ArrowCreateAndSealRequest {
  evictIfFull: boolean;
  objects: ArrowInlineObject[];
}

export interface ArrowSealRequest {
  objectId: Uint8Array;
  digest: Uint8Array;
}

export interface ArrowGetRequest {
  objectIds: Uint8Array[];
  timeoutMs: number;
}

export interface ArrowSetOptionsRequest {
  clientName: string;
  outputMemoryQuota: number;
}

/** Where an object is: `segmentIndex` is the key the client maps its segment under. */
export interface ArrowObjectSpec {
  segmentIndex: number;
  dataOffset: number;
  /** -1 for an object that was not found. */
  dataSize: number;
  metadataOffset: number;
  metadataSize: number;
}

/** A segment named by a reply: its key and the size the client maps (plus Arrow's 8-byte gap). */
export interface ArrowSegment {
  segmentIndex: number;
  mmapSize: number;
}

export interface ArrowCreateReply {
  objectId: Uint8Array;
  spec: ArrowObjectSpec | null;
  error: ArrowErrorCode;
  segment: ArrowSegment | null;
}

export interface ArrowGetReply {
  objectIds: Uint8Array[];
  specs: ArrowObjectSpec[];
  segments: ArrowSegment[];
}

/** An object in a List reply or a notification. */
export interface ArrowObjectInfo {
  objectId: Uint8Array;
  dataSize: number;
  metadataSize: number;
  refCount: number;
  createTimeSeconds: number;
  /** -1 while unsealed. */
  constructDurationSeconds: number;
  /** Empty while unsealed: Arrow's clients derive the state from it. */
  digest: Uint8Array;
  isDeletion: boolean;
}
