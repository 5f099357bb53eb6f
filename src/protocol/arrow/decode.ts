/**
 * Decoders for the requests of Arrow's dialect: each verifies the FlatBuffer against the
 * dialect's layouts first (peer input), then copies the fields into a plain object. The requests
 * of every object's life (create, seal, release, get, contains, abort) and Evict are read in
 * place by a FlatReader, which checks each field as it reads it, and all their fields are read.
 * @module
 */
import type * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import { LAYOUTS } from "./generated/layout.ts";
import type * as m from "./messages.ts";
import { BYTES, bytesOf, byteStrings as list, verifiedBuffer } from "../flatbuffer_reading.ts";
import { VerificationError, verifyRoot } from "../verifier.ts";
import { FlatReader } from "../flat_reader.ts";
import { GET_TIMEOUT_MS_MAX } from "../limits.ts";

function buffer(payload: Uint8Array, table: string): flatbuffers.ByteBuffer {
  return verifiedBuffer(payload, table, LAYOUTS);
}

const reader = new FlatReader();

/** CreateRequest: object_id (0), evict_if_full (1), data_size (2), metadata_size (3), device_num (4). */
export function decodeCreateRequest(payload: Uint8Array): m.ArrowCreateRequest {
  reader.open(payload, "CreateRequest");
  return {
    objectId: reader.bytes(0),
    evictIfFull: reader.bool(1),
    dataSize: reader.size(2, "data_size"),
    metadataSize: reader.size(3, "metadata_size"),
    deviceNum: reader.int32(4),
  };
}

export function decodeCreateAndSealRequest(payload: Uint8Array): m.ArrowCreateAndSealRequest {
  const table = fb.CreateAndSealRequest.getRootAsCreateAndSealRequest(buffer(payload, "CreateAndSealRequest"));
  return {
    evictIfFull: table.evictIfFull(),
    objects: [{
      objectId: bytesOf(table.objectId(BYTES)),
      data: bytesOf(table.data(BYTES)),
      metadata: bytesOf(table.metadata(BYTES)),
      digest: bytesOf(table.digest(BYTES)),
    }],
  };
}

export function decodeCreateAndSealBatchRequest(payload: Uint8Array): m.ArrowCreateAndSealRequest {
  const table = fb.CreateAndSealBatchRequest.getRootAsCreateAndSealBatchRequest(
    buffer(payload, "CreateAndSealBatchRequest"),
  );
  const count = table.objectIdsLength();
  if (table.dataLength() !== count || table.metadataLength() !== count || table.digestLength() !== count) {
    throw new VerificationError("a batch's ids, data, metadata and digests differ in number");
  }
  const ids = list(count, (index) => table.objectIds(index, BYTES));
  const data = list(count, (index) => table.data(index, BYTES));
  const metadata = list(count, (index) => table.metadata(index, BYTES));
  const digests = list(count, (index) => table.digest(index, BYTES));
  return {
    evictIfFull: table.evictIfFull(),
    objects: ids.map((objectId, index) => ({
      objectId,
      data: data[index],
      metadata: metadata[index],
      digest: digests[index],
    })),
  };
}

/** Requests that carry one id: Abort, Release, Contains (its field 0). */
export function decodeIdRequest(
  payload: Uint8Array,
  table: "AbortRequest" | "ReleaseRequest" | "ContainsRequest",
): Uint8Array {
  reader.open(payload, table);
  return reader.bytes(0);
}

/** SealRequest: object_id (0), digest (1). */
export function decodeSealRequest(payload: Uint8Array): m.ArrowSealRequest {
  reader.open(payload, "SealRequest");
  return { objectId: reader.bytes(0), digest: reader.bytes(1) };
}

/** GetRequest: object_ids (0), timeout_ms (1). */
export function decodeGetRequest(payload: Uint8Array): m.ArrowGetRequest {
  reader.open(payload, "GetRequest");
  const objectIds = reader.byteStrings(0);
  const timeout = reader.int64(1);
  // Any negative timeout waits forever, as in Arrow's store (only 0 and >0 are special there),
  // and so does one too long for a timer.
  return { objectIds, timeoutMs: timeout < 0 || timeout > GET_TIMEOUT_MS_MAX ? -1 : timeout };
}

/** Delete and RefreshLRU carry a list of ids. */
export function decodeIdsRequest(payload: Uint8Array, table: "DeleteRequest" | "RefreshLRURequest"): Uint8Array[] {
  const bytes = buffer(payload, table);
  const root = table === "DeleteRequest"
    ? fb.DeleteRequest.getRootAsDeleteRequest(bytes)
    : fb.RefreshLRURequest.getRootAsRefreshLRURequest(bytes);
  return list(root.objectIdsLength(), (index) => root.objectIds(index, BYTES));
}

/** EvictRequest: num_bytes (0), its only field. */
export function decodeEvictRequest(payload: Uint8Array): number {
  reader.open(payload, "EvictRequest");
  return reader.size(0, "num_bytes");
}

export function decodeSetOptionsRequest(payload: Uint8Array): m.ArrowSetOptionsRequest {
  const table = fb.SetOptionsRequest.getRootAsSetOptionsRequest(buffer(payload, "SetOptionsRequest"));
  return {
    clientName: new TextDecoder().decode(bytesOf(table.clientName(BYTES))),
    outputMemoryQuota: Number(table.outputMemoryQuota()),
  };
}

/** Requests without fields (Connect, List, Subscribe, GetDebugString) must still be tables. */
export function decodeEmptyRequest(payload: Uint8Array, table: string): void {
  verifyRoot(payload, table, LAYOUTS);
}
