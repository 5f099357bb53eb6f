/**
 * Decoders for every message: each verifies the FlatBuffer first (peer input), then copies the
 * fields into a plain object. Id byte views point into the frame buffer: copy to keep them.
 * The requests of every object's life (create, seal, get, release) are read in place by a
 * FlatReader, which checks each field as it reads it; all their fields are read.
 * @module
 */
import type * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import { STATS_FIELDS } from "./encode.ts";
import type * as m from "./messages.ts";
import { BYTES, bytesOf, byteStrings, verifiedBuffer } from "./flatbuffer_reading.ts";
import { effectiveGetTimeoutMs } from "./limits.ts";
import { FlatReader } from "./flat_reader.ts";

const reader = new FlatReader();

function buffer(payload: Uint8Array, table: string): flatbuffers.ByteBuffer {
  return verifiedBuffer(payload, table);
}

function spec(table: fb.ObjectSpec): m.ObjectSpec {
  return {
    storeFd: table.storeFd(),
    uniqueFdId: Number(table.uniqueFdId()),
    mmapSize: Number(table.mmapSize()),
    dataOffset: Number(table.dataOffset()),
    dataSize: Number(table.dataSize()),
    metadataOffset: Number(table.metadataOffset()),
    metadataSize: Number(table.metadataSize()),
    allocatedSize: Number(table.allocatedSize()),
    fallbackAllocated: table.fallbackAllocated(),
    deviceNum: table.deviceNum(),
  };
}

function chunk(table: fb.ChunkRef): m.ChunkRef {
  return {
    storeFd: table.storeFd(),
    uniqueFdId: Number(table.uniqueFdId()),
    mmapSize: Number(table.mmapSize()),
    fdFollows: table.fdFollows(),
  };
}

export function decodeConnectReply(payload: Uint8Array): m.ConnectReply {
  const table = fb.ConnectReply.getRootAsConnectReply(buffer(payload, "ConnectReply"));
  return {
    memoryCapacity: Number(table.memoryCapacity()),
    requestBytesMax: Number(table.requestBytesMax()),
    idsPerRequestMax: table.idsPerRequestMax(),
  };
}

/**
 * CreateRequest: object_id (0), owner_raylet_id (1), owner_ip_address (2), owner_port (3),
 * owner_worker_id (4), data_size (5), metadata_size (6), source (7), device_num (8),
 * try_immediately (9).
 */
export function decodeCreateRequest(payload: Uint8Array): m.CreateRequest {
  reader.open(payload, "CreateRequest");
  return {
    objectId: reader.bytes(0),
    dataSize: reader.int64(5),
    metadataSize: reader.int64(6),
    source: reader.int32(7),
    deviceNum: reader.int32(8),
    tryImmediately: reader.bool(9),
    ownerRayletId: reader.bytes(1),
    ownerIpAddress: reader.bytes(2),
    ownerPort: reader.int32(3),
    ownerWorkerId: reader.bytes(4),
  };
}

export function decodeCreateRetryRequest(payload: Uint8Array): m.CreateRetryRequest {
  const table = fb.CreateRetryRequest.getRootAsCreateRetryRequest(buffer(payload, "CreateRetryRequest"));
  return { objectId: bytesOf(table.objectId(BYTES)), requestId: Number(table.requestId()) };
}

export function decodeCreateReply(payload: Uint8Array): m.CreateReply {
  const table = fb.CreateReply.getRootAsCreateReply(buffer(payload, "CreateReply"));
  const specTable = table.spec();
  const chunkTable = table.chunk();
  return {
    objectId: bytesOf(table.objectId(BYTES)),
    retryWithRequestId: Number(table.retryWithRequestId()),
    spec: specTable ? spec(specTable) : null,
    chunk: chunkTable ? chunk(chunkTable) : null,
    error: table.error(),
    message: table.message() ?? "",
  };
}

/** Abort and Contains requests (one id in field 0). */
export function decodeIdRequest(payload: Uint8Array, table: "AbortRequest" | "ContainsRequest"): m.IdRequest {
  const root = fb.AbortRequest.getRootAsAbortRequest(buffer(payload, table));
  return { objectId: bytesOf(root.objectId(BYTES)) };
}

export function decodeIdsRequest(payload: Uint8Array): m.IdsRequest {
  const table = fb.DeleteRequest.getRootAsDeleteRequest(buffer(payload, "DeleteRequest"));
  return { objectIds: byteStrings(table.objectIdsLength(), (index) => table.objectIds(index, BYTES)) };
}

export function decodeDeleteRequest(payload: Uint8Array): m.DeleteRequest {
  const table = fb.DeleteRequest.getRootAsDeleteRequest(buffer(payload, "DeleteRequest"));
  return {
    objectIds: byteStrings(table.objectIdsLength(), (index) => table.objectIds(index, BYTES)),
    everywhere: table.everywhere(),
  };
}

/** SealRequest: object_ids (0), release (1). */
export function decodeSealRequest(payload: Uint8Array): m.SealRequest {
  reader.open(payload, "SealRequest");
  return { objectIds: reader.byteStrings(0), release: reader.bool(1) };
}

/** GetRequest: object_ids (0), timeout_ms (1). */
export function decodeGetRequest(payload: Uint8Array): m.GetRequest {
  reader.open(payload, "GetRequest");
  return { objectIds: reader.byteStrings(0), timeoutMs: effectiveGetTimeoutMs(reader.int64(1)) };
}

/** ReleaseRequest: object_id (0), may_unmap (1). */
export function decodeReleaseRequest(payload: Uint8Array): m.ReleaseRequest {
  reader.open(payload, "ReleaseRequest");
  return { objectId: reader.bytes(0), mayUnmap: reader.bool(1) };
}

/** Abort and Release replies (one id and an error). */
export function decodeIdReply(payload: Uint8Array): m.IdReply {
  const table = fb.AbortReply.getRootAsAbortReply(buffer(payload, "AbortReply"));
  return { objectId: bytesOf(table.objectId(BYTES)), error: table.error() };
}

/** Seal, Delete and CreateAndSeal replies (ids with per-id errors). */
export function decodeIdsReply(payload: Uint8Array): m.IdsReply {
  const table = fb.SealReply.getRootAsSealReply(buffer(payload, "SealReply"));
  const errors: number[] = [];
  for (let index = 0; index < table.errorsLength(); index++) errors.push(table.errors(index) ?? 0);
  return { objectIds: byteStrings(table.objectIdsLength(), (index) => table.objectIds(index, BYTES)), errors };
}

export function decodeGetReply(payload: Uint8Array): m.GetReply {
  const table = fb.GetReply.getRootAsGetReply(buffer(payload, "GetReply"));
  const specs: m.ObjectSpec[] = [];
  const reusable = new fb.ObjectSpec();
  for (let index = 0; index < table.specsLength(); index++) specs.push(spec(table.specs(index, reusable)!));
  const chunks: m.ChunkRef[] = [];
  for (let index = 0; index < table.chunksLength(); index++) chunks.push(chunk(table.chunks(index)!));
  return { objectIds: byteStrings(table.objectIdsLength(), (index) => table.objectIds(index, BYTES)), specs, chunks };
}

export function decodeContainsReply(payload: Uint8Array): m.ContainsReply {
  const table = fb.ContainsReply.getRootAsContainsReply(buffer(payload, "ContainsReply"));
  return { objectId: bytesOf(table.objectId(BYTES)), hasObject: table.hasObject() };
}

export function decodeDebugStringReply(payload: Uint8Array): string {
  const table = fb.GetDebugStringReply.getRootAsGetDebugStringReply(buffer(payload, "GetDebugStringReply"));
  return table.debugString() ?? "";
}

export function decodeListReply(payload: Uint8Array): m.ObjectInfo[] {
  const table = fb.ListReply.getRootAsListReply(buffer(payload, "ListReply"));
  const objects: m.ObjectInfo[] = [];
  for (let index = 0; index < table.objectsLength(); index++) {
    const info = table.objects(index)!;
    objects.push({
      objectId: bytesOf(info.objectId(BYTES)).slice(),
      dataSize: Number(info.dataSize()),
      metadataSize: Number(info.metadataSize()),
      refCount: info.refCount(),
      state: info.state(),
      source: info.source(),
      createTimeMs: Number(info.createTimeMs()),
      constructDurationMs: Number(info.constructDurationMs()),
    });
  }
  return objects;
}

export function decodeStatsReply(payload: Uint8Array): m.StoreStats {
  const table = fb.StatsReply.getRootAsStatsReply(buffer(payload, "StatsReply")) as unknown as Record<
    string,
    () => bigint | number
  >;
  const stats = {} as Record<string, number>;
  for (const name of STATS_FIELDS) stats[name] = Number(table[name]());
  return stats as unknown as m.StoreStats;
}

export function decodeCreateAndSealRequest(payload: Uint8Array): m.CreateAndSealRequest {
  const table = fb.CreateAndSealRequest.getRootAsCreateAndSealRequest(buffer(payload, "CreateAndSealRequest"));
  const objects: m.ObjectToWrite[] = [];
  for (let index = 0; index < table.objectsLength(); index++) {
    const object = table.objects(index)!;
    objects.push({
      objectId: bytesOf(object.objectId(BYTES)),
      data: bytesOf(object.dataArray()),
      metadata: bytesOf(object.metadataArray()),
    });
  }
  return { objects, receivedFromRemote: table.receivedFromRemote() };
}

export function decodeErrorReply(payload: Uint8Array): m.ErrorReply {
  const table = fb.ErrorReply.getRootAsErrorReply(buffer(payload, "ErrorReply"));
  return { requestType: table.requestType(), error: table.error(), message: table.message() ?? "" };
}
