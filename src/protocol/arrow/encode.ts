/**
 * Encoders for the replies (and notifications) of Arrow's dialect. Each returns a view into one
 * shared Builder, valid until the next encode. Every field Arrow's client reads unconditionally
 * is always written (it dereferences them without checking).
 * @module
 */
import * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import { type ArrowErrorCode, ArrowMessageType } from "./messages.ts";
import { MISSING_SPEC, writeObjectSpec } from "./_object_spec.ts";
import type * as m from "./messages.ts";

const builder = new flatbuffers.Builder(4096);

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

function specStruct(spec: m.ArrowObjectSpec | null): flatbuffers.Offset {
  return writeObjectSpec(builder, spec ?? MISSING_SPEC);
}

export function encodeConnectReply(memoryCapacity: number): Uint8Array {
  builder.clear();
  return finish(fb.ConnectReply.createConnectReply(builder, BigInt(memoryCapacity)));
}

export function encodeCreateReply(reply: m.ArrowCreateReply): Uint8Array {
  builder.clear();
  const id = builder.createString(reply.objectId);
  fb.CreateReply.startCreateReply(builder);
  fb.CreateReply.addObjectId(builder, id);
  fb.CreateReply.addPlasmaObject(builder, specStruct(reply.spec));
  fb.CreateReply.addError(builder, reply.error);
  fb.CreateReply.addStoreFd(builder, reply.segment?.segmentIndex ?? -1);
  fb.CreateReply.addMmapSize(builder, BigInt(reply.segment?.mmapSize ?? 0));
  return finish(fb.CreateReply.endCreateReply(builder));
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

export function encodeSealReply(objectId: Uint8Array, error: ArrowErrorCode): Uint8Array {
  builder.clear();
  return finish(fb.SealReply.createSealReply(builder, builder.createString(objectId), error));
}

export function encodeGetReply(reply: m.ArrowGetReply): Uint8Array {
  builder.clear();
  const ids = stringVector(reply.objectIds);
  builder.startVector(48, reply.specs.length, 8);
  for (let index = reply.specs.length - 1; index >= 0; index--) specStruct(reply.specs[index]);
  const specs = builder.endVector();
  const fds = fb.GetReply.createStoreFdsVector(builder, reply.segments.map((segment) => segment.segmentIndex));
  const sizes = fb.GetReply.createMmapSizesVector(builder, reply.segments.map((segment) => BigInt(segment.mmapSize)));
  const handles = fb.GetReply.createHandlesVector(builder, []);
  return finish(fb.GetReply.createGetReply(builder, ids, specs, fds, sizes, handles));
}

export function encodeDeleteReply(objectIds: Uint8Array[], errors: ArrowErrorCode[]): Uint8Array {
  builder.clear();
  const ids = stringVector(objectIds);
  const codes = fb.DeleteReply.createErrorsVector(builder, errors);
  return finish(fb.DeleteReply.createDeleteReply(builder, objectIds.length, ids, codes));
}

export function encodeContainsReply(objectId: Uint8Array, hasObject: boolean): Uint8Array {
  builder.clear();
  return finish(fb.ContainsReply.createContainsReply(builder, builder.createString(objectId), hasObject ? 1 : 0));
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
