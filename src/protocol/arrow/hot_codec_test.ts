/**
 * The requests and replies of every object's life in Arrow's dialect are read and written by
 * hand (FlatReader, FlatWriter), not by the generated code: these tests hold them to the
 * generated code. Replies must read back field for field through the generated readers, pass the
 * verifier and keep 64-bit fields 8-aligned; requests must decode as the verifier plus the
 * generated readers decode them, and be refused exactly when those refuse them (random damage).
 */
import assert from "node:assert/strict";
import { assertDamageParity, outcome } from "../_damage_test_helper.ts";
import * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import { LAYOUTS } from "./generated/layout.ts";
import { decodeCreateRequest, decodeGetRequest, decodeIdRequest, decodeSealRequest } from "./decode.ts";
import { encodeContainsReply, encodeCreateReply, encodeGetReply, encodeSealReply } from "./encode.ts";
import { ArrowErrorCode, type ArrowObjectSpec } from "./messages.ts";
import { VerificationError, verifyRoot } from "../verifier.ts";
import { GET_TIMEOUT_MS_MAX } from "../limits.ts";

const BYTES = flatbuffers.Encoding.UTF8_BYTES;
const id = (seed: number) => Uint8Array.from({ length: 20 }, (_, index) => (seed * 31 + index) & 255);
const bb = (bytes: Uint8Array) => new flatbuffers.ByteBuffer(bytes.slice());

/** A 64-bit field (or vector) that starts 8-aligned, as FlatBuffers requires. */
function assertAligned8(position: number, what: string): void {
  assert.equal(position % 8, 0, `${what} at ${position} is not 8-aligned`);
}

function specOf(spec: fb.ObjectSpec): ArrowObjectSpec {
  return {
    segmentIndex: spec.segmentIndex(),
    dataOffset: Number(spec.dataOffset()),
    dataSize: Number(spec.dataSize()),
    metadataOffset: Number(spec.metadataOffset()),
    metadataSize: Number(spec.metadataSize()),
  };
}

const SPEC = {
  segmentIndex: 3,
  dataOffset: 2 ** 40 + 5,
  dataSize: 2 ** 33 + 1,
  metadataOffset: 2 ** 53 - 1,
  metadataSize: 7,
};

Deno.test("Arrow hot replies: a CreateReply reads back through the generated reader, with or without an object", () => {
  for (const spec of [SPEC, null]) {
    const segment = spec === null ? null : { segmentIndex: 3, mmapSize: 2 ** 34 + 8 };
    const error = spec === null ? ArrowErrorCode.OutOfMemory : ArrowErrorCode.OK;
    const bytes = encodeCreateReply({ objectId: id(1), spec, error, segment });
    verifyRoot(bytes, "CreateReply", LAYOUTS);
    const reply = fb.CreateReply.getRootAsCreateReply(bb(bytes));
    assert.deepEqual(reply.objectId(BYTES), id(1));
    const expected = spec ?? { segmentIndex: -1, dataOffset: 0, dataSize: 0, metadataOffset: 0, metadataSize: 0 };
    assert.deepEqual(specOf(reply.plasmaObject()!), expected);
    assert.equal(reply.plasmaObject()!.deviceNum(), 0);
    assert.equal(reply.error(), error);
    assert.equal(reply.storeFd(), segment?.segmentIndex ?? -1);
    assert.equal(reply.mmapSize(), BigInt(segment?.mmapSize ?? 0));
    assert.equal(reply.ipcHandle(), null);
    assertAligned8(reply.bb_pos + reply.bb!.__offset(reply.bb_pos, 6), "plasma_object");
    assertAligned8(reply.bb_pos + reply.bb!.__offset(reply.bb_pos, 12), "mmap_size");
  }
});

Deno.test("Arrow hot replies: SealReply and ContainsReply read back through the generated readers", () => {
  const seal = fb.SealReply.getRootAsSealReply(bb(encodeSealReply(id(2), ArrowErrorCode.ObjectNotFound)));
  assert.deepEqual(seal.objectId(BYTES), id(2));
  assert.equal(seal.error(), ArrowErrorCode.ObjectNotFound);
  for (const has of [true, false]) {
    const bytes = encodeContainsReply(id(3), has);
    verifyRoot(bytes, "ContainsReply", LAYOUTS);
    const contains = fb.ContainsReply.getRootAsContainsReply(bb(bytes));
    assert.deepEqual(contains.objectId(BYTES), id(3));
    assert.equal(contains.hasObject(), has ? 1 : 0);
  }
});

Deno.test("Arrow hot replies: a GetReply reads back through the generated reader, for 0, 1 and many ids", () => {
  for (const count of [0, 1, 3, 300]) {
    const objectIds = Array.from({ length: count }, (_, index) => id(index));
    const specs = objectIds.map((_, index) => ({ ...SPEC, dataSize: index, segmentIndex: index % 2 === 0 ? 0 : -1 }));
    const segments = [{ segmentIndex: 0, mmapSize: 2 ** 31 + 24 }, { segmentIndex: 9, mmapSize: 2 ** 45 }];
    const bytes = encodeGetReply({ objectIds, specs, segments });
    verifyRoot(bytes, "GetReply", LAYOUTS);
    const reply = fb.GetReply.getRootAsGetReply(bb(bytes));
    assert.equal(reply.objectIdsLength(), count);
    assert.equal(reply.plasmaObjectsLength(), count);
    for (let index = 0; index < count; index++) {
      assert.deepEqual(reply.objectIds(index, BYTES), objectIds[index]);
      assert.deepEqual(specOf(reply.plasmaObjects(index)!), specs[index]);
    }
    assert.deepEqual([reply.storeFds(0), reply.storeFds(1)], [0, 9]);
    assert.deepEqual([reply.mmapSizes(0), reply.mmapSizes(1)], [BigInt(2 ** 31 + 24), BigInt(2 ** 45)]);
    assert.equal(reply.handlesLength(), 0);
    assertAligned8(reply.bb!.__vector(reply.bb_pos + reply.bb!.__offset(reply.bb_pos, 6)), "plasma_objects");
    assertAligned8(reply.bb!.__vector(reply.bb_pos + reply.bb!.__offset(reply.bb_pos, 10)), "mmap_sizes");
  }
});

/** Requests as Arrow's client builds them (the generated builders). */
function createRequest(dataSize: bigint, metadataSize = 8n, deviceNum = 0, evict = true): Uint8Array {
  const builder = new flatbuffers.Builder(64);
  const objectId = builder.createString(id(4));
  builder.finish(fb.CreateRequest.createCreateRequest(builder, objectId, evict, dataSize, metadataSize, deviceNum));
  return builder.asUint8Array().slice();
}

function getRequest(ids: Uint8Array[], timeoutMs: bigint): Uint8Array {
  const builder = new flatbuffers.Builder(64);
  const strings = ids.map((each) => builder.createString(each));
  const vector = fb.GetRequest.createObjectIdsVector(builder, strings);
  builder.finish(fb.GetRequest.createGetRequest(builder, vector, timeoutMs));
  return builder.asUint8Array().slice();
}

function sealRequest(digest: Uint8Array): Uint8Array {
  const builder = new flatbuffers.Builder(64);
  const objectId = builder.createString(id(5));
  const digestOffset = builder.createString(digest);
  builder.finish(fb.SealRequest.createSealRequest(builder, objectId, digestOffset));
  return builder.asUint8Array().slice();
}

function idRequest(table: "ReleaseRequest" | "ContainsRequest" | "AbortRequest"): Uint8Array {
  const builder = new flatbuffers.Builder(64);
  const objectId = builder.createString(id(6));
  const create = {
    ReleaseRequest: fb.ReleaseRequest.createReleaseRequest,
    ContainsRequest: fb.ContainsRequest.createContainsRequest,
    AbortRequest: fb.AbortRequest.createAbortRequest,
  }[table];
  builder.finish(create(builder, objectId));
  return builder.asUint8Array().slice();
}

Deno.test("Arrow hot requests: fields decode as the generated readers read them, defaults and limits included", () => {
  assert.deepEqual(decodeCreateRequest(createRequest(1024n, 8n, 0, true)), {
    objectId: id(4),
    evictIfFull: true,
    dataSize: 1024,
    metadataSize: 8,
    deviceNum: 0,
  });
  const defaults = decodeCreateRequest(createRequest(0n, 0n, 0, false));
  assert.deepEqual([defaults.dataSize, defaults.metadataSize, defaults.evictIfFull], [0, 0, false]);
  assert.equal(decodeCreateRequest(createRequest(2n ** 53n - 1n)).dataSize, 2 ** 53 - 1);
  assert.throws(() => decodeCreateRequest(createRequest(2n ** 53n)), VerificationError);
  assert.throws(() => decodeCreateRequest(createRequest(2n ** 64n - 1n)), VerificationError);
  assert.equal(decodeCreateRequest(createRequest(1n, 0n, 7)).deviceNum, 7);
  assert.deepEqual(decodeSealRequest(sealRequest(id(9))), { objectId: id(5), digest: id(9) });
  for (const table of ["ReleaseRequest", "ContainsRequest", "AbortRequest"] as const) {
    assert.deepEqual(decodeIdRequest(idRequest(table), table), id(6));
  }
  const ids = [id(1), id(2), id(1)];
  assert.deepEqual(decodeGetRequest(getRequest(ids, 0n)), { objectIds: ids, timeoutMs: 0 });
  assert.equal(decodeGetRequest(getRequest(ids, 250n)).timeoutMs, 250);
  assert.equal(decodeGetRequest(getRequest(ids, -5n)).timeoutMs, -1);
  assert.equal(decodeGetRequest(getRequest(ids, BigInt(GET_TIMEOUT_MS_MAX) + 1n)).timeoutMs, -1);
  assert.equal(decodeGetRequest(getRequest(ids, 2n ** 62n)).timeoutMs, -1);
  assert.equal(decodeGetRequest(getRequest(ids, -(2n ** 62n))).timeoutMs, -1);
  assert.deepEqual(decodeGetRequest(getRequest([], 3n)).objectIds, []);
});

/** The decoding the hand-written readers replace: the verifier, then the generated readers. */
function referenceDecode(table: string, payload: Uint8Array): unknown {
  verifyRoot(payload, table, LAYOUTS);
  const buffer = new flatbuffers.ByteBuffer(payload);
  const bytesOrEmpty = (value: string | Uint8Array | null) => value ?? new Uint8Array(0);
  if (table === "CreateRequest") {
    const request = fb.CreateRequest.getRootAsCreateRequest(buffer);
    const size = (value: bigint) => {
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new VerificationError("bad size");
      return Number(value);
    };
    return {
      objectId: bytesOrEmpty(request.objectId(BYTES)),
      evictIfFull: request.evictIfFull(),
      dataSize: size(request.dataSize()),
      metadataSize: size(request.metadataSize()),
      deviceNum: request.deviceNum(),
    };
  }
  if (table === "SealRequest") {
    const request = fb.SealRequest.getRootAsSealRequest(buffer);
    return { objectId: bytesOrEmpty(request.objectId(BYTES)), digest: bytesOrEmpty(request.digest(BYTES)) };
  }
  if (table === "GetRequest") {
    const request = fb.GetRequest.getRootAsGetRequest(buffer);
    const timeout = request.timeoutMs();
    return {
      objectIds: Array.from({ length: request.objectIdsLength() }, (_, index) => request.objectIds(index, BYTES)),
      timeoutMs: timeout < 0n || timeout > BigInt(GET_TIMEOUT_MS_MAX) ? -1 : Number(timeout),
    };
  }
  return bytesOrEmpty(fb.ReleaseRequest.getRootAsReleaseRequest(buffer).objectId(BYTES));
}

function hotDecode(table: string, payload: Uint8Array): unknown {
  if (table === "CreateRequest") return decodeCreateRequest(payload);
  if (table === "SealRequest") return decodeSealRequest(payload);
  if (table === "GetRequest") return decodeGetRequest(payload);
  return decodeIdRequest(payload, "ReleaseRequest");
}

Deno.test("Arrow hot requests: damaged payloads are refused (or read) exactly as the verifier and generated readers do", () => {
  const samples: [string, Uint8Array][] = [
    ["CreateRequest", createRequest(4096n, 16n)],
    ["SealRequest", sealRequest(id(7))],
    ["GetRequest", getRequest([id(1), id(2), id(3)], 100n)],
    ["ReleaseRequest", idRequest("ReleaseRequest")],
  ];
  assertDamageParity(samples, hotDecode, referenceDecode, 12345);
});

Deno.test("Arrow hot requests: a field that lies past its table's stated size is refused, as the verifier refuses it", () => {
  const payload = createRequest(4096n, 16n);
  const view = new DataView(payload.buffer);
  const table = view.getUint32(0, true);
  const vtable = table - view.getInt32(table, true);
  const tableBytes = view.getUint16(vtable + 2, true);
  for (let shrunk = 4; shrunk < tableBytes; shrunk++) {
    view.setUint16(vtable + 2, shrunk, true);
    assert.equal(
      outcome(() => hotDecode("CreateRequest", payload)),
      outcome(() => referenceDecode("CreateRequest", payload)),
    );
    assert.equal(outcome(() => hotDecode("CreateRequest", payload)), "refused", `table size ${shrunk}`);
  }
});

Deno.test("Arrow hot requests: a vtable of an odd or too small size is refused by the reader and the verifier alike", () => {
  for (const vtableBytes of [0, 2, 3, 7]) {
    const payload = createRequest(4096n, 16n);
    const view = new DataView(payload.buffer);
    const table = view.getUint32(0, true);
    view.setUint16(table - view.getInt32(table, true), vtableBytes, true);
    assert.equal(
      outcome(() => referenceDecode("CreateRequest", payload)),
      "refused",
      `verifier, vtable ${vtableBytes}`,
    );
    assert.equal(outcome(() => hotDecode("CreateRequest", payload)), "refused", `reader, vtable ${vtableBytes}`);
  }
});
