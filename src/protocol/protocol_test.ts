import assert from "node:assert/strict";
import * as decode from "./decode.ts";
import * as encode from "./encode.ts";
import { ErrorCode, ObjectSource } from "./messages.ts";
import { ObjectId } from "./object_id.ts";
import { VerificationError, verifyRoot } from "./verifier.ts";

const id = (hex: string) => ObjectId.fromHex(hex).rawBytes;

Deno.test("a create request survives encode and decode with binary ids", () => {
  const objectId = new Uint8Array([0, 255, 128, 10, 0]);
  const decoded = decode.decodeCreateRequest(
    encode.encodeCreateRequest({
      objectId,
      dataSize: 5_000_000_000,
      metadataSize: 7,
      source: ObjectSource.ReceivedFromRemoteRaylet,
      deviceNum: 0,
      tryImmediately: true,
    }).slice(),
  );
  assert.deepEqual(decoded.objectId, objectId);
  assert.equal(decoded.dataSize, 5_000_000_000);
  assert.equal(decoded.metadataSize, 7);
  assert.equal(decoded.source, ObjectSource.ReceivedFromRemoteRaylet);
  assert.equal(decoded.tryImmediately, true);
});

Deno.test("a decoded request keeps its values after the next frame is decoded (decoders share one reader)", () => {
  const request = (objectId: Uint8Array, dataSize: number) =>
    encode.encodeCreateRequest({
      objectId,
      dataSize,
      metadataSize: 1,
      source: ObjectSource.CreatedByWorker,
      deviceNum: 0,
      tryImmediately: false,
    }).slice();
  const first = decode.decodeCreateRequest(request(new Uint8Array([1, 2, 3]), 100));
  const second = decode.decodeCreateRequest(request(new Uint8Array([9, 9, 9, 9]), 200));
  const ids = decode.decodeIdsRequest(encode.encodeIdsRequest([new Uint8Array([7]), new Uint8Array([8, 8])]).slice());
  assert.deepEqual([first.objectId, first.dataSize], [new Uint8Array([1, 2, 3]), 100]);
  assert.deepEqual([second.objectId, second.dataSize], [new Uint8Array([9, 9, 9, 9]), 200]);
  assert.deepEqual(ids.objectIds, [new Uint8Array([7]), new Uint8Array([8, 8])]);
  assert.throws(() => decode.decodeCreateRequest(new Uint8Array(3)), VerificationError);
  assert.deepEqual(first.objectId, new Uint8Array([1, 2, 3]), "a rejected frame leaves earlier results alone");
});

Deno.test("the verifier checks frames at any offset of one reused read buffer, each against its own length", () => {
  const frame = encode.encodeIdsRequest([new Uint8Array([1, 2, 3])]).slice();
  const buffer = new Uint8Array(4096);
  for (const offset of [0, 100, 1000]) {
    buffer.fill(0xee);
    buffer.set(frame, offset);
    const view = buffer.subarray(offset, offset + frame.length);
    verifyRoot(view, "DeleteRequest");
    assert.deepEqual(decode.decodeIdsRequest(view).objectIds, [new Uint8Array([1, 2, 3])]);
    // The same bytes cut short: the buffer behind them is longer, the frame is not.
    assert.throws(
      () => verifyRoot(buffer.subarray(offset, offset + frame.length - 4), "DeleteRequest"),
      VerificationError,
    );
  }
  verifyRoot(frame, "DeleteRequest"); // another buffer again
});

Deno.test("a get reply keeps ids, specs and chunks in order", () => {
  const spec = {
    storeFd: 9,
    uniqueFdId: 3,
    mmapSize: 1 << 20,
    dataOffset: 64,
    dataSize: 100,
    metadataOffset: 164,
    metadataSize: 2,
    allocatedSize: 128,
    fallbackAllocated: false,
    deviceNum: 0,
  };
  const missing = { ...spec, dataSize: -1 };
  const reply = decode.decodeGetReply(
    encode.encodeGetReply({
      objectIds: [id("aa"), id("bb")],
      specs: [spec, missing],
      chunks: [{ storeFd: 9, uniqueFdId: 3, mmapSize: 1 << 20, fdFollows: true }],
    }).slice(),
  );
  assert.deepEqual(reply.objectIds.map((bytes) => [...bytes]), [[0xaa], [0xbb]]);
  assert.deepEqual(reply.specs, [spec, missing]);
  assert.equal(reply.chunks[0].fdFollows, true);
});

Deno.test("stats and per-id replies round-trip every field", () => {
  const stats = Object.fromEntries(encode.STATS_FIELDS.map((name, index) => [name, index * 1000 + 1]));
  assert.deepEqual(decode.decodeStatsReply(encode.encodeStatsReply(stats as never).slice()), stats);
  const ids = decode.decodeIdsReply(
    encode.encodeIdsReply({ objectIds: [id("01"), id("02")], errors: [ErrorCode.OK, ErrorCode.ObjectInUse] })
      .slice(),
  );
  assert.deepEqual(ids.errors, [ErrorCode.OK, ErrorCode.ObjectInUse]);
});

Deno.test("create-and-seal carries data and metadata bytes", () => {
  const data = new Uint8Array(1000).map((_, i) => i & 0xff);
  const request = decode.decodeCreateAndSealRequest(
    encode.encodeCreateAndSealRequest({
      objects: [{ objectId: id("0a0b"), data, metadata: new Uint8Array([1, 2]) }],
    }).slice(),
  );
  assert.deepEqual(request.objects[0].data, data);
  assert.deepEqual([...request.objects[0].metadata], [1, 2]);
  assert.equal(request.receivedFromRemote, false);
  const received = encode.encodeCreateAndSealRequest({ objects: [], receivedFromRemote: true }).slice();
  assert.equal(decode.decodeCreateAndSealRequest(received).receivedFromRemote, true);
});

Deno.test("the verifier rejects truncated and random buffers without reading outside them", () => {
  const good = encode.encodeGetRequest({ objectIds: [id("01"), id("0203")], timeoutMs: 5 }).slice();
  verifyRoot(good, "GetRequest");
  const expected = decode.decodeGetRequest(good);
  let refused = 0;
  for (let cut = 0; cut < good.length; cut++) {
    // Cutting only trailing alignment padding leaves a valid buffer; anything else must be refused.
    try {
      assert.deepEqual(decode.decodeGetRequest(good.subarray(0, cut)), expected, `cut at ${cut}`);
    } catch (error) {
      assert.ok(error instanceof VerificationError, String(error));
      refused++;
    }
  }
  assert.ok(refused > good.length - 8, `only ${refused} of ${good.length} truncations refused`);
  // Seeded random garbage and random single-byte corruptions: only VerificationError, or a decode.
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let round = 0; round < 2000; round++) {
    const bytes = round % 2 === 0
      ? new Uint8Array(8 + Math.floor(random() * 64)).map(() => Math.floor(random() * 256))
      : good.slice().map((
        byte,
        index,
      ) => (index === Math.floor(random() * good.length) ? Math.floor(random() * 256) : byte));
    try {
      const request = decode.decodeGetRequest(bytes);
      for (const objectId of request.objectIds) assert.ok(objectId.length <= bytes.length);
    } catch (error) {
      assert.ok(error instanceof VerificationError, String(error));
    }
  }
});

Deno.test("object ids validate their length and print as hex", () => {
  assert.equal(ObjectId.random().rawBytes.length, 20);
  assert.equal(ObjectId.fromHex("00ff10").toHex(), "00ff10");
  assert.throws(() => ObjectId.fromBytes(new Uint8Array(0)), RangeError);
  assert.throws(() => ObjectId.fromBytes(new Uint8Array(65)), RangeError);
  assert.ok(ObjectId.fromHex("0102").equals(ObjectId.fromBytes(new Uint8Array([1, 2]))));
});
