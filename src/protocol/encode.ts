/**
 * Encoders for every message: each returns the payload bytes, a view into one shared Builder
 * that is valid until the next encode (write it to the socket at once).
 * @module
 */
import * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import type * as m from "./messages.ts";

const builder = new flatbuffers.Builder(4096);

function finish(root: flatbuffers.Offset): Uint8Array {
  builder.finish(root);
  return builder.asUint8Array();
}

/**
 * A [ubyte] vector. A string has the same layout (length, bytes) plus a NUL after the end, and
 * createString copies in one tight loop where the generated helper makes one call per byte.
 */
function bytesVector(bytes: Uint8Array): flatbuffers.Offset {
  return builder.createString(bytes);
}

function stringVector(items: Uint8Array[]): flatbuffers.Offset {
  const offsets = items.map((item) => builder.createString(item));
  builder.startVector(4, offsets.length, 4);
  for (let index = offsets.length - 1; index >= 0; index--) builder.addOffset(offsets[index]);
  return builder.endVector();
}

function intVector(values: number[]): flatbuffers.Offset {
  builder.startVector(4, values.length, 4);
  for (let index = values.length - 1; index >= 0; index--) builder.addInt32(values[index]);
  return builder.endVector();
}

function offsetVector(offsets: flatbuffers.Offset[]): flatbuffers.Offset {
  builder.startVector(4, offsets.length, 4);
  for (let index = offsets.length - 1; index >= 0; index--) builder.addOffset(offsets[index]);
  return builder.endVector();
}

function optionalString(bytes: Uint8Array | undefined): flatbuffers.Offset {
  return bytes === undefined ? 0 : builder.createString(bytes);
}

/** An empty table: the requests that carry nothing. */
export function encodeEmpty(): Uint8Array {
  builder.clear();
  builder.startObject(0);
  return finish(builder.endObject());
}

export function encodeConnectReply(reply: m.ConnectReply): Uint8Array {
  builder.clear();
  return finish(fb.ConnectReply.createConnectReply(
    builder,
    BigInt(reply.memoryCapacity),
    BigInt(reply.requestBytesMax),
    reply.idsPerRequestMax,
  ));
}

export function encodeCreateRequest(request: m.CreateRequest): Uint8Array {
  builder.clear();
  const id = builder.createString(request.objectId);
  const raylet = optionalString(request.ownerRayletId);
  const ip = optionalString(request.ownerIpAddress);
  const worker = optionalString(request.ownerWorkerId);
  return finish(fb.CreateRequest.createCreateRequest(
    builder,
    id,
    raylet,
    ip,
    request.ownerPort ?? 0,
    worker,
    BigInt(request.dataSize),
    BigInt(request.metadataSize),
    request.source,
    request.deviceNum,
    request.tryImmediately,
  ));
}

export function encodeCreateRetryRequest(request: m.CreateRetryRequest): Uint8Array {
  builder.clear();
  const id = builder.createString(request.objectId);
  return finish(fb.CreateRetryRequest.createCreateRetryRequest(builder, id, BigInt(request.requestId)));
}

function specOffset(spec: m.ObjectSpec): flatbuffers.Offset {
  return fb.ObjectSpec.createObjectSpec(
    builder,
    spec.storeFd,
    BigInt(spec.uniqueFdId),
    BigInt(spec.mmapSize),
    BigInt(spec.dataOffset),
    BigInt(spec.dataSize),
    BigInt(spec.metadataOffset),
    BigInt(spec.metadataSize),
    BigInt(spec.allocatedSize),
    spec.fallbackAllocated,
    spec.deviceNum,
  );
}

function chunkOffset(chunk: m.ChunkRef): flatbuffers.Offset {
  return fb.ChunkRef.createChunkRef(
    builder,
    chunk.storeFd,
    BigInt(chunk.uniqueFdId),
    BigInt(chunk.mmapSize),
    chunk.fdFollows,
  );
}

export function encodeCreateReply(reply: m.CreateReply): Uint8Array {
  builder.clear();
  const id = builder.createString(reply.objectId);
  const message = reply.message ? builder.createString(reply.message) : 0;
  const spec = reply.spec ? specOffset(reply.spec) : 0;
  const chunk = reply.chunk ? chunkOffset(reply.chunk) : 0;
  fb.CreateReply.startCreateReply(builder);
  fb.CreateReply.addObjectId(builder, id);
  fb.CreateReply.addRetryWithRequestId(builder, BigInt(reply.retryWithRequestId));
  if (spec) fb.CreateReply.addSpec(builder, spec);
  if (chunk) fb.CreateReply.addChunk(builder, chunk);
  fb.CreateReply.addError(builder, reply.error);
  if (message) fb.CreateReply.addMessage(builder, message);
  return finish(fb.CreateReply.endCreateReply(builder));
}

/** Requests that carry one id: Abort and Contains. */
export function encodeIdRequest(objectId: Uint8Array): Uint8Array {
  builder.clear();
  const id = builder.createString(objectId);
  builder.startObject(1);
  builder.addFieldOffset(0, id, 0);
  return finish(builder.endObject());
}

/** Requests that carry ids only: Delete. */
export function encodeIdsRequest(objectIds: Uint8Array[]): Uint8Array {
  builder.clear();
  const ids = stringVector(objectIds);
  builder.startObject(1);
  builder.addFieldOffset(0, ids, 0);
  return finish(builder.endObject());
}

export function encodeDeleteRequest(request: m.DeleteRequest): Uint8Array {
  builder.clear();
  const ids = stringVector(request.objectIds);
  return finish(fb.DeleteRequest.createDeleteRequest(builder, ids, request.everywhere));
}

export function encodeSealRequest(request: m.SealRequest): Uint8Array {
  builder.clear();
  const ids = stringVector(request.objectIds);
  return finish(fb.SealRequest.createSealRequest(builder, ids, request.release));
}

export function encodeGetRequest(request: m.GetRequest): Uint8Array {
  builder.clear();
  const ids = stringVector(request.objectIds);
  return finish(fb.GetRequest.createGetRequest(builder, ids, BigInt(request.timeoutMs)));
}

export function encodeReleaseRequest(request: m.ReleaseRequest): Uint8Array {
  builder.clear();
  const id = builder.createString(request.objectId);
  return finish(fb.ReleaseRequest.createReleaseRequest(builder, id, request.mayUnmap));
}

/** Replies with one id and an error: Abort and Release. */
export function encodeIdReply(reply: m.IdReply): Uint8Array {
  builder.clear();
  const id = builder.createString(reply.objectId);
  return finish(fb.AbortReply.createAbortReply(builder, id, reply.error));
}

/** Replies with per-id errors: Seal, Delete, CreateAndSeal (all share this layout). */
export function encodeIdsReply(reply: m.IdsReply): Uint8Array {
  builder.clear();
  const ids = stringVector(reply.objectIds);
  const errors = intVector(reply.errors);
  return finish(fb.SealReply.createSealReply(builder, ids, errors));
}

export function encodeGetReply(reply: m.GetReply): Uint8Array {
  builder.clear();
  const ids = stringVector(reply.objectIds);
  const specs = offsetVector(reply.specs.map(specOffset));
  const chunks = offsetVector(reply.chunks.map(chunkOffset));
  return finish(fb.GetReply.createGetReply(builder, ids, specs, chunks));
}

export function encodeContainsReply(reply: m.ContainsReply): Uint8Array {
  builder.clear();
  const id = builder.createString(reply.objectId);
  return finish(fb.ContainsReply.createContainsReply(builder, id, reply.hasObject));
}

export function encodeDebugStringReply(text: string): Uint8Array {
  builder.clear();
  const offset = builder.createString(text);
  return finish(fb.GetDebugStringReply.createGetDebugStringReply(builder, offset));
}

export function encodeListReply(objects: m.ObjectInfo[]): Uint8Array {
  builder.clear();
  const offsets = objects.map((info) => {
    const id = builder.createString(info.objectId);
    return fb.ObjectInfo.createObjectInfo(
      builder,
      id,
      BigInt(info.dataSize),
      BigInt(info.metadataSize),
      info.refCount,
      info.state,
      info.source,
      BigInt(info.createTimeMs),
      BigInt(info.constructDurationMs),
    );
  });
  return finish(fb.ListReply.createListReply(builder, offsetVector(offsets)));
}

/** Stats fields in schema order; encoder and decoder both walk this list. */
export const STATS_FIELDS: (keyof m.StoreStats)[] = [
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
  "numObjectsPulled",
  "numBytesPulled",
  "numObjectsPushed",
  "numBytesPushed",
  "numPullsInFlight",
  "numBytesPulling",
  "numPullsFailed",
  "numPeersRejected",
  "numGetRequests",
  "numObjectsCreatedTotal",
  "numServeErrors",
  "numClientMemoryRefusals",
  "clientMemoryBytes",
];
const STATS_INT32_FIELDS = new Set<keyof m.StoreStats>(["numClients", "numPendingGets", "numQueuedCreates"]);

export function encodeStatsReply(stats: m.StoreStats): Uint8Array {
  builder.clear();
  builder.startObject(STATS_FIELDS.length);
  STATS_FIELDS.forEach((name, slot) => {
    if (STATS_INT32_FIELDS.has(name)) builder.addFieldInt32(slot, stats[name], 0);
    else builder.addFieldInt64(slot, BigInt(stats[name]), 0n);
  });
  return finish(builder.endObject());
}

export function encodeCreateAndSealRequest(request: m.CreateAndSealRequest): Uint8Array {
  builder.clear();
  const offsets = request.objects.map((object) => {
    const id = builder.createString(object.objectId);
    const data = bytesVector(object.data);
    const metadata = bytesVector(object.metadata);
    return fb.ObjectToWrite.createObjectToWrite(builder, id, data, metadata);
  });
  return finish(
    fb.CreateAndSealRequest.createCreateAndSealRequest(
      builder,
      offsetVector(offsets),
      request.receivedFromRemote ?? false,
    ),
  );
}

export function encodeErrorReply(reply: m.ErrorReply): Uint8Array {
  builder.clear();
  const message = builder.createString(reply.message);
  return finish(fb.ErrorReply.createErrorReply(builder, reply.requestType, reply.error, message));
}
