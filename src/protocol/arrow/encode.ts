/**
 * Encoders for the replies (and notifications) of Arrow's dialect. Each returns a view into one
 * shared Builder (or, for the replies of every object's life: create, seal, get, contains, one
 * shared FlatWriter), valid until the next encode. Every field Arrow's client reads
 * unconditionally is always written (it dereferences them without checking).
 * @module
 */
import * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import { type ArrowErrorCode, ArrowMessageType } from "./messages.ts";
import type * as m from "./messages.ts";
import { FlatWriter } from "../flat_writer.ts";

const builder = new flatbuffers.Builder(4096);
const writer = new FlatWriter();

/** The spec of an object that is not there. */
const MISSING_SPEC: m.ArrowObjectSpec = Object.freeze({
  segmentIndex: -1,
  dataOffset: 0,
  dataSize: 0,
  metadataOffset: 0,
  metadataSize: 0,
});

/** ObjectSpec as laid out in memory: segment_index, pad, four ulongs, device_num, pad. */
const SPEC_BYTES = 48;
const SPEC_ALIGNMENT = 8;

function putSpec(position: number, spec: m.ArrowObjectSpec): void {
  writer.int32At(position, spec.segmentIndex);
  writer.int64At(position + 8, spec.dataOffset);
  writer.int64At(position + 16, spec.dataSize);
  writer.int64At(position + 24, spec.metadataOffset);
  writer.int64At(position + 32, spec.metadataSize);
  // device_num stays 0 (no CUDA), as the writer zero-fills
}

function finish(root: flatbuffers.Offset): Uint8Array {
  builder.finish(root);
  return builder.asUint8Array();
}

function stringVector(items: Uint8Array[]): flatbuffers.Offset {
  const offsets = items.map((item) => builder.createString(item));
  builder.startVector(4, offsets.length, 4);
  for (let index = offsets.length - 1; index >= 0; index--) builder.addOffset(offsets[index]);
  return builder.endVector();
}

export function encodeConnectReply(memoryCapacity: number): Uint8Array {
  builder.clear();
  return finish(fb.ConnectReply.createConnectReply(builder, BigInt(memoryCapacity)));
}

/**
 * CreateReply: object_id (0), plasma_object (1, the struct inline), error (2), store_fd (3),
 * mmap_size (4); ipc_handle (5) absent. Inline: the struct at 8, mmap_size at 56, error and
 * store_fd at 64 and 68.
 */
export function encodeCreateReply(reply: m.ArrowCreateReply): Uint8Array {
  const root = writer.begin(6, 72);
  writer.bytes(root, 0, 4, reply.objectId);
  putSpec(writer.struct(root, 1, 8), reply.spec ?? MISSING_SPEC);
  writer.int64(root, 4, 56, reply.segment?.mmapSize ?? 0);
  writer.int32(root, 2, 64, reply.error);
  writer.int32(root, 3, 68, reply.segment?.segmentIndex ?? -1);
  return writer.finish();
}

/** CreateAndSeal, CreateAndSealBatch and SetOptions replies carry only an error. */
export function encodeErrorOnlyReply(type: ArrowMessageType, error: ArrowErrorCode): Uint8Array {
  builder.clear();
  if (type === ArrowMessageType.CreateAndSealReply) {
    return finish(fb.CreateAndSealReply.createCreateAndSealReply(builder, error));
  }
  if (type === ArrowMessageType.CreateAndSealBatchReply) {
    return finish(fb.CreateAndSealBatchReply.createCreateAndSealBatchReply(builder, error));
  }
  return finish(fb.SetOptionsReply.createSetOptionsReply(builder, error));
}

export function encodeAbortReply(objectId: Uint8Array): Uint8Array {
  builder.clear();
  return finish(fb.AbortReply.createAbortReply(builder, builder.createString(objectId)));
}

/** SealReply: object_id (0), error (1). */
export function encodeSealReply(objectId: Uint8Array, error: ArrowErrorCode): Uint8Array {
  const root = writer.begin(2, 12);
  writer.bytes(root, 0, 4, objectId);
  writer.int32(root, 1, 8, error);
  return writer.finish();
}

/** GetReply: object_ids (0), plasma_objects (1), store_fds (2), mmap_sizes (3), handles (4, empty). */
export function encodeGetReply(reply: m.ArrowGetReply): Uint8Array {
  const root = writer.begin(5, 24);
  writer.byteStrings(root, 0, 4, reply.objectIds);
  const specs = writer.vector(root, 1, 8, reply.specs.length, SPEC_BYTES, SPEC_ALIGNMENT);
  reply.specs.forEach((spec, index) => putSpec(specs + index * SPEC_BYTES, spec));
  const fds = writer.vector(root, 2, 12, reply.segments.length, 4, 4);
  const sizes = writer.vector(root, 3, 16, reply.segments.length, 8, 8);
  reply.segments.forEach((segment, index) => {
    writer.int32At(fds + index * 4, segment.segmentIndex);
    writer.int64At(sizes + index * 8, segment.mmapSize);
  });
  writer.vector(root, 4, 20, 0, 4, 4);
  return writer.finish();
}

export function encodeDeleteReply(objectIds: Uint8Array[], errors: ArrowErrorCode[]): Uint8Array {
  builder.clear();
  const ids = stringVector(objectIds);
  const codes = fb.DeleteReply.createErrorsVector(builder, errors);
  return finish(fb.DeleteReply.createDeleteReply(builder, objectIds.length, ids, codes));
}

/** ContainsReply: object_id (0), has_object (1). */
export function encodeContainsReply(objectId: Uint8Array, hasObject: boolean): Uint8Array {
  const root = writer.begin(2, 12);
  writer.bytes(root, 0, 4, objectId);
  writer.int32(root, 1, 8, hasObject ? 1 : 0);
  return writer.finish();
}

function objectInfo(info: m.ArrowObjectInfo): flatbuffers.Offset {
  const id = builder.createString(info.objectId);
  const digest = builder.createString(info.digest);
  return fb.ObjectInfo.createObjectInfo(
    builder,
    id,
    BigInt(info.dataSize),
    BigInt(info.metadataSize),
    info.refCount,
    BigInt(info.createTimeSeconds),
    BigInt(info.constructDurationSeconds),
    digest,
    info.isDeletion,
  );
}

export function encodeListReply(objects: m.ArrowObjectInfo[]): Uint8Array {
  builder.clear();
  const infos = fb.ListReply.createObjectsVector(builder, objects.map(objectInfo));
  return finish(fb.ListReply.createListReply(builder, infos));
}

/** A notification as it goes on the subscriber's socket: a native-endian int64 length, then the table. */
export function encodeNotification(objects: m.ArrowObjectInfo[]): Uint8Array {
  builder.clear();
  const infos = fb.Notification.createObjectInfoVector(builder, objects.map(objectInfo));
  const table = finish(fb.Notification.createNotification(builder, infos));
  const framed = new Uint8Array(8 + table.length);
  new DataView(framed.buffer).setBigInt64(0, BigInt(table.length), true);
  framed.set(table, 8);
  return framed;
}

export function encodeEvictReply(numBytes: number): Uint8Array {
  builder.clear();
  return finish(fb.EvictReply.createEvictReply(builder, BigInt(numBytes)));
}

export function encodeDebugStringReply(text: string): Uint8Array {
  builder.clear();
  const value = builder.createString(text);
  return finish(fb.GetDebugStringReply.createGetDebugStringReply(builder, value));
}

export function encodeEmptyReply(): Uint8Array {
  builder.clear();
  builder.startObject(0);
  return finish(builder.endObject());
}
