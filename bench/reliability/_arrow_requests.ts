/**
 * Arrow-dialect request payloads for the fuzzer (the store only decodes these, so src/ has no
 * encoder for them): built with the generated FlatBuffers classes, as pyarrow's client builds them.
 * @module
 */
import * as flatbuffers from "flatbuffers";
import * as fb from "../../src/protocol/arrow/generated/mod.ts";

const builder = new flatbuffers.Builder(1024);

function finish(root: flatbuffers.Offset): Uint8Array {
  builder.finish(root);
  return builder.asUint8Array().slice();
}

export function arrowCreate(id: Uint8Array, dataSize: number, metadataSize: number): Uint8Array {
  builder.clear();
  const idOffset = builder.createString(id);
  return finish(
    fb.CreateRequest.createCreateRequest(builder, idOffset, false, BigInt(dataSize), BigInt(metadataSize), 0),
  );
}

export function arrowSeal(id: Uint8Array): Uint8Array {
  builder.clear();
  const idOffset = builder.createString(id);
  const digest = builder.createString(new Uint8Array(8).fill(1));
  return finish(fb.SealRequest.createSealRequest(builder, idOffset, digest));
}

export function arrowGet(ids: Uint8Array[], timeoutMs: number): Uint8Array {
  builder.clear();
  const offsets = ids.map((id) => builder.createString(id));
  const vector = fb.GetRequest.createObjectIdsVector(builder, offsets);
  fb.GetRequest.startGetRequest(builder);
  fb.GetRequest.addObjectIds(builder, vector);
  fb.GetRequest.addTimeoutMs(builder, BigInt(timeoutMs));
  return finish(fb.GetRequest.endGetRequest(builder));
}

export function arrowRelease(id: Uint8Array): Uint8Array {
  builder.clear();
  return finish(fb.ReleaseRequest.createReleaseRequest(builder, builder.createString(id)));
}

export function arrowContains(id: Uint8Array): Uint8Array {
  builder.clear();
  return finish(fb.ContainsRequest.createContainsRequest(builder, builder.createString(id)));
}

export function arrowAbort(id: Uint8Array): Uint8Array {
  builder.clear();
  return finish(fb.AbortRequest.createAbortRequest(builder, builder.createString(id)));
}

export function arrowDelete(ids: Uint8Array[]): Uint8Array {
  builder.clear();
  const offsets = ids.map((id) => builder.createString(id));
  const vector = fb.DeleteRequest.createObjectIdsVector(builder, offsets);
  fb.DeleteRequest.startDeleteRequest(builder);
  fb.DeleteRequest.addCount(builder, ids.length);
  fb.DeleteRequest.addObjectIds(builder, vector);
  return finish(fb.DeleteRequest.endDeleteRequest(builder));
}

export function arrowCreateAndSeal(id: Uint8Array, data: Uint8Array): Uint8Array {
  builder.clear();
  const idOffset = builder.createString(id);
  const dataOffset = builder.createString(data);
  const metadataOffset = builder.createString(new Uint8Array(0));
  const digest = builder.createString(new Uint8Array(8).fill(2));
  return finish(
    fb.CreateAndSealRequest.createCreateAndSealRequest(builder, idOffset, false, dataOffset, metadataOffset, digest),
  );
}

export function arrowEvict(numBytes: number): Uint8Array {
  builder.clear();
  return finish(fb.EvictRequest.createEvictRequest(builder, BigInt(numBytes)));
}
