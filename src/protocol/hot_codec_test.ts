/**
 * Our dialect's requests and replies of every object's life are read and written by hand
 * (FlatReader, FlatWriter): these tests hold them to the generated code. Replies must read back
 * through the generated readers, pass the verifier and keep 64-bit fields 8-aligned; requests
 * must decode as the verifier plus the generated readers decode them, and be refused exactly when
 * those refuse them (random damage).
 */
import assert from "node:assert/strict";
import { assertDamageParity } from "./_damage_test_helper.ts";
import * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import {
  decodeCreateReply,
  decodeCreateRequest,
  decodeGetReply,
  decodeGetRequest,
  decodeIdReply,
  decodeIdsReply,
  decodeReleaseRequest,
  decodeSealRequest,
} from "./decode.ts";
import {
  encodeCreateReply,
  encodeCreateRequest,
  encodeGetReply,
  encodeGetRequest,
  encodeIdReply,
  encodeIdsReply,
  encodeReleaseRequest,
  encodeSealRequest,
} from "./encode.ts";
import { type ChunkRef, ErrorCode, ObjectSource, type ObjectSpec } from "./messages.ts";
import { verifyRoot } from "./verifier.ts";
import { effectiveGetTimeoutMs } from "./limits.ts";

const BYTES = flatbuffers.Encoding.UTF8_BYTES;
const id = (seed: number) => Uint8Array.from({ length: 28 }, (_, index) => (seed * 29 + index) & 255);
const SPEC: ObjectSpec = {
  storeFd: 7,
  uniqueFdId: 2 ** 40 + 3,
  mmapSize: 2 ** 34,
  dataOffset: 2 ** 33 + 64,
  dataSize: 1024,
  metadataOffset: 2 ** 33 + 1088,
  metadataSize: 0,
  allocatedSize: 1152,
  fallbackAllocated: true,
  deviceNum: 0,
};
const CHUNK: ChunkRef = { storeFd: 7, uniqueFdId: 2 ** 40 + 3, mmapSize: 2 ** 34, fdFollows: true };

/** Every 64-bit field of a table (by vtable slot) starts 8-aligned in the buffer. */
function assertLongsAligned(table: { bb: flatbuffers.ByteBuffer | null; bb_pos: number }, slots: number[]): void {
  for (const slot of slots) {
    const offset = table.bb!.__offset(table.bb_pos, slot);
    if (offset !== 0) assert.equal((table.bb_pos + offset) % 8, 0, `field at vtable slot ${slot}`);
  }
}
const SPEC_LONG_SLOTS = [6, 8, 10, 12, 14, 16, 18];
const CHUNK_LONG_SLOTS = [6, 8];

Deno.test("hot replies: a CreateReply reads back through the generated reader, with and without spec, chunk, message", () => {
  for (const full of [true, false]) {
    const reply = {
      objectId: id(1),
      retryWithRequestId: full ? 0 : 2 ** 35 + 1,
      spec: full ? SPEC : null,
      chunk: full ? CHUNK : null,
      error: full ? ErrorCode.OK : ErrorCode.OutOfMemory,
      message: full ? "" : "no room: 2 MiB wanted, 1 MiB free (ü)",
    };
    const bytes = encodeCreateReply(reply).slice();
    verifyRoot(bytes, "CreateReply");
    assert.deepEqual(decodeCreateReply(bytes), reply);
    const table = fb.CreateReply.getRootAsCreateReply(new flatbuffers.ByteBuffer(bytes));
    assertLongsAligned(table, [6]);
    if (full) assertLongsAligned(table.spec()!, SPEC_LONG_SLOTS);
    if (full) assertLongsAligned(table.chunk()!, CHUNK_LONG_SLOTS);
  }
});

Deno.test("hot replies: Get, Seal (ids) and Release (id) replies read back through the generated readers", () => {
  for (const count of [0, 1, 5, 200]) {
    const reply = {
      objectIds: Array.from({ length: count }, (_, index) => id(index)),
      specs: Array.from(
        { length: count },
        (_, index) => ({ ...SPEC, dataSize: index - 1, fallbackAllocated: index % 2 === 0 }),
      ),
      chunks: count === 0 ? [] : [CHUNK, { ...CHUNK, storeFd: -1, fdFollows: false }],
    };
    const bytes = encodeGetReply(reply).slice();
    verifyRoot(bytes, "GetReply");
    assert.deepEqual(decodeGetReply(bytes), reply);
    const table = fb.GetReply.getRootAsGetReply(new flatbuffers.ByteBuffer(bytes));
    for (let index = 0; index < count; index++) assertLongsAligned(table.specs(index)!, SPEC_LONG_SLOTS);
    for (let index = 0; index < table.chunksLength(); index++) {
      assertLongsAligned(table.chunks(index)!, CHUNK_LONG_SLOTS);
    }
    const ids = { objectIds: reply.objectIds, errors: reply.objectIds.map((_, index) => index % 3) };
    assert.deepEqual(decodeIdsReply(encodeIdsReply(ids).slice()), ids);
  }
  const released = { objectId: id(9), error: ErrorCode.ObjectNonexistent };
  assert.deepEqual(decodeIdReply(encodeIdReply(released).slice()), released);
});

const CREATE = {
  objectId: id(2),
  dataSize: 2 ** 40,
  metadataSize: 16,
  source: ObjectSource.ReceivedFromRemoteRaylet,
  deviceNum: 0,
  tryImmediately: true,
  ownerRayletId: id(3),
  ownerIpAddress: new TextEncoder().encode("10.0.0.7"),
  ownerPort: 7000,
  ownerWorkerId: id(4),
};

Deno.test("hot requests: create, seal, get and release decode every field the clients encode", () => {
  assert.deepEqual(decodeCreateRequest(encodeCreateRequest(CREATE).slice()), CREATE);
  const bare = decodeCreateRequest(
    encodeCreateRequest({ ...CREATE, ownerRayletId: undefined, ownerPort: undefined }).slice(),
  );
  assert.deepEqual([bare.ownerRayletId, bare.ownerPort], [new Uint8Array(0), 0]);
  const ids = [id(5), id(6)];
  assert.deepEqual(decodeSealRequest(encodeSealRequest({ objectIds: ids, release: true }).slice()), {
    objectIds: ids,
    release: true,
  });
  for (const timeoutMs of [0, -1, 1500, 2 ** 45]) {
    const decoded = decodeGetRequest(encodeGetRequest({ objectIds: ids, timeoutMs }).slice());
    assert.deepEqual(decoded, { objectIds: ids, timeoutMs: effectiveGetTimeoutMs(timeoutMs) });
  }
  const release = { objectId: id(7), mayUnmap: true };
  assert.deepEqual(decodeReleaseRequest(encodeReleaseRequest(release).slice()), release);
});

/** The decoding the hand-written readers replace: the verifier, then the generated readers. */
function referenceDecode(table: string, payload: Uint8Array): unknown {
  verifyRoot(payload, table);
  const buffer = new flatbuffers.ByteBuffer(payload);
  const bytesOf = (value: string | Uint8Array | null) => value ?? new Uint8Array(0);
  const ids = (
    root: { objectIdsLength(): number; objectIds(index: number, encoding: flatbuffers.Encoding): string | Uint8Array },
  ) => Array.from({ length: root.objectIdsLength() }, (_, index) => root.objectIds(index, BYTES));
  if (table === "CreateRequest") {
    const root = fb.CreateRequest.getRootAsCreateRequest(buffer);
    return {
      objectId: bytesOf(root.objectId(BYTES)),
      dataSize: Number(root.dataSize()),
      metadataSize: Number(root.metadataSize()),
      source: root.source(),
      deviceNum: root.deviceNum(),
      tryImmediately: root.tryImmediately(),
      ownerRayletId: bytesOf(root.ownerRayletId(BYTES)),
      ownerIpAddress: bytesOf(root.ownerIpAddress(BYTES)),
      ownerPort: root.ownerPort(),
      ownerWorkerId: bytesOf(root.ownerWorkerId(BYTES)),
    };
  }
  if (table === "SealRequest") {
    const root = fb.SealRequest.getRootAsSealRequest(buffer);
    return { objectIds: ids(root), release: root.release() };
  }
  if (table === "GetRequest") {
    const root = fb.GetRequest.getRootAsGetRequest(buffer);
    return { objectIds: ids(root), timeoutMs: effectiveGetTimeoutMs(Number(root.timeoutMs())) };
  }
  const root = fb.ReleaseRequest.getRootAsReleaseRequest(buffer);
  return { objectId: bytesOf(root.objectId(BYTES)), mayUnmap: root.mayUnmap() };
}

const HOT_DECODERS: Record<string, (payload: Uint8Array) => unknown> = {
  CreateRequest: decodeCreateRequest,
  SealRequest: decodeSealRequest,
  GetRequest: decodeGetRequest,
  ReleaseRequest: decodeReleaseRequest,
};

Deno.test("hot requests: damaged payloads are refused (or read) exactly as the verifier and generated readers do", () => {
  const samples: [string, Uint8Array][] = [
    ["CreateRequest", encodeCreateRequest(CREATE).slice()],
    ["SealRequest", encodeSealRequest({ objectIds: [id(1), id(2)], release: true }).slice()],
    ["GetRequest", encodeGetRequest({ objectIds: [id(1), id(2), id(3)], timeoutMs: 100 }).slice()],
    ["ReleaseRequest", encodeReleaseRequest({ objectId: id(8), mayUnmap: true }).slice()],
  ];
  assertDamageParity(samples, (table, payload) => HOT_DECODERS[table](payload), referenceDecode, 777);
});
