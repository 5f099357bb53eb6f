/**
 * Encoders for every message: each returns the payload bytes, a view into one shared Builder
 * that is valid until the next encode (write it to the socket at once).
 * @module
 */
import * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import type * as m from "./messages.ts";
import { FlatWriter } from "./flat_writer.ts";

const builder = new flatbuffers.Builder(4096);
const writer = new FlatWriter();

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

/**
 * ObjectSpec: store_fd (0), unique_fd_id (1), mmap_size (2), data_offset (3), data_size (4),
 * metadata_offset (5), metadata_size (6), allocated_size (7), fallback_allocated (8),
 * device_num (9). Inline: the longs from 8, then the ints and the bool.
 */
function writeSpec(spec: m.ObjectSpec): number {
  const table = writer.table(10, 80);
  writer.int64(table, 1, 8, spec.uniqueFdId);
  writer.int64(table, 2, 16, spec.mmapSize);
  writer.int64(table, 3, 24, spec.dataOffset);
  writer.int64(table, 4, 32, spec.dataSize);
  writer.int64(table, 5, 40, spec.metadataOffset);
  writer.int64(table, 6, 48, spec.metadataSize);
  writer.int64(table, 7, 56, spec.allocatedSize);
  writer.int32(table, 0, 64, spec.storeFd);
  writer.int32(table, 9, 68, spec.deviceNum);
  writer.bool(table, 8, 72, spec.fallbackAllocated);
  return table;
}

/** ChunkRef: store_fd (0), unique_fd_id (1), mmap_size (2), fd_follows (3). */
function writeChunk(chunk: m.ChunkRef): number {
  const table = writer.table(4, 32);
  writer.int64(table, 1, 8, chunk.uniqueFdId);
  writer.int64(table, 2, 16, chunk.mmapSize);
  writer.int32(table, 0, 24, chunk.storeFd);
  writer.bool(table, 3, 28, chunk.fdFollows);
  return table;
}

/** CreateReply: object_id (0), retry_with_request_id (1), spec (2), chunk (3), error (4), message (5). */
export function encodeCreateReply(reply: m.CreateReply): Uint8Array {
  const root = writer.begin(6, 32);
  writer.bytes(root, 0, 4, reply.objectId);
  writer.int64(root, 1, 8, reply.retryWithRequestId);
  writer.int32(root, 4, 16, reply.error);
  if (reply.message) writer.string(root, 5, 20, reply.message);
  if (reply.spec) writer.link(root, 2, 24, writeSpec(reply.spec));
  if (reply.chunk) writer.link(root, 3, 28, writeChunk(reply.chunk));
  return writer.finish();
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
/** Abort and Release replies: object_id (0), error (1). */
export function encodeIdReply(reply: m.IdReply): Uint8Array {
  const root = writer.begin(2, 12);
  writer.bytes(root, 0, 4, reply.objectId);
  writer.int32(root, 1, 8, reply.error);
  return writer.finish();
}

/** Replies with per-id errors: Seal, Delete, CreateAndSeal (all share this layout): object_ids (0), errors (1). */
export function encodeIdsReply(reply: m.IdsReply): Uint8Array {
  const root = writer.begin(2, 12);
  writer.byteStrings(root, 0, 4, reply.objectIds);
  const errors = writer.vector(root, 1, 8, reply.errors.length, 4, 4);
  reply.errors.forEach((error, index) => writer.int32At(errors + index * 4, error));
  return writer.finish();
}

/** GetReply: object_ids (0), specs (1), chunks (2); each spec and chunk a table of its own. */
export function encodeGetReply(reply: m.GetReply): Uint8Array {
  const root = writer.begin(3, 16);
  writer.byteStrings(root, 0, 4, reply.objectIds);
  const specs = writer.vector(root, 1, 8, reply.specs.length, 4, 4);
  reply.specs.forEach((spec, index) => writer.pointAt(specs + index * 4, writeSpec(spec)));
  const chunks = writer.vector(root, 2, 12, reply.chunks.length, 4, 4);
  reply.chunks.forEach((chunk, index) => writer.pointAt(chunks + index * 4, writeChunk(chunk)));
  return writer.finish();
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
