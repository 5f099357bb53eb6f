/**
 * The store with real client processes: zero-copy sharing between processes, a client killed
 * mid-work, hostile frames, many concurrent clients.
 */
import assert from "node:assert/strict";
import { FrameConnection } from "../ffi/frame_connection.ts";
import { Status } from "../ffi/status.ts";
import { connectUnix } from "../ffi/unix_socket.ts";
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { decodeErrorReply } from "../src/protocol/decode.ts";
import { encodeEmpty, encodeGetRequest } from "../src/protocol/encode.ts";
import { COOKIE } from "../src/protocol/frame.ts";
import { ErrorCode, MessageType } from "../src/protocol/messages.ts";
import { frameHeader, writeRaw } from "./fixtures/raw_write.ts";
import { eventually, outputOf, spawnClient, spawnStore, stateOf } from "./_store_fixture.ts";

Deno.test("objects written by one process are read zero-copy by three others with the same checksums", async () => {
  const store = await spawnStore();
  try {
    const written = await outputOf(spawnClient(store.socketPath, "write", "20", String(64 * 1024)));
    assert.equal(written.length, 20);
    const ids = written.map((line) => line.split(" ")[0]);
    const readers = await Promise.all([0, 1, 2].map(() => outputOf(spawnClient(store.socketPath, "read", ...ids))));
    for (const read of readers) assert.deepEqual(read, written);
    await using client = await PlasmaClient.connect(store.socketPath);
    const stats = await client.stats();
    assert.equal(stats.numObjects, 20);
    assert.equal(stats.numObjectsInUse, 0, "every reader released what it got");
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("a get waiting forever in one process is woken by a seal in another", async () => {
  const store = await spawnStore();
  try {
    const id = ObjectId.random();
    const reader = spawnClient(store.socketPath, "read", id.toHex());
    const writer = spawnClient(store.socketPath, "createLater", id.toHex(), "300");
    assert.deepEqual(await outputOf(writer), ["sealed"]);
    const [line] = await outputOf(reader);
    assert.equal(line.split(" ")[0], id.toHex());
  } finally {
    await store.stop();
  }
});

Deno.test("a client killed with SIGKILL while holding unsealed and referenced objects leaves no trace", async () => {
  const store = await spawnStore();
  try {
    await using observer = await PlasmaClient.connect(store.socketPath);
    const sealed = await observer.put(new Uint8Array(4096));
    const baseline = await observer.stats();
    const victim = spawnClient(store.socketPath, "holdAndWait", sealed.toHex(), String(1024 * 1024));
    const reader = victim.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value?.trim(), "ready");
    const during = await observer.stats();
    assert.equal(during.numObjectsUnsealed, 1);
    assert.equal(during.numObjectsInUse, 2);
    victim.kill("SIGKILL");
    await victim.status;
    await reader.cancel();
    await victim.stderr.cancel();
    await eventually(async () => (await observer.stats()).numClients === 1);
    const after = await observer.stats();
    assert.deepEqual(stateOf(after), stateOf(baseline));
    assert.equal(after.allocatedBytes, baseline.allocatedBytes);
  } finally {
    await store.stop();
  }
});

Deno.test("malformed, unknown and oversized frames get error replies and never disturb other clients", async () => {
  const store = await spawnStore();
  try {
    await using bystander = await PlasmaClient.connect(store.socketPath);
    const id = await bystander.put(new Uint8Array([5]));
    using raw = FrameConnection.adopt(connectUnix(store.socketPath), { payloadBytesMax: 1 << 20 });
    const expectError = (code: ErrorCode, pattern: RegExp) => {
      assert.equal(raw.read(-1), Status.ok);
      assert.equal(raw.type, MessageType.ErrorReply);
      const reply = decodeErrorReply(raw.payload());
      assert.equal(reply.error, code);
      assert.match(reply.message, pattern);
    };
    // A get whose FlatBuffer is garbage: refused, and the connection keeps working.
    assert.equal(raw.write(COOKIE, MessageType.GetRequest, new Uint8Array([1, 2, 3, 250, 0, 0, 0, 9]), -1), Status.ok);
    expectError(ErrorCode.InvalidRequest, /malformed/);
    assert.equal(raw.write(COOKIE, 999, encodeEmpty(), -1), Status.ok);
    expectError(ErrorCode.InvalidRequest, /not a request/);
    assert.equal(raw.write(COOKIE, MessageType.GetReply, encodeEmpty(), -1), Status.ok);
    expectError(ErrorCode.InvalidRequest, /not a request/);
    const tooManyIds = Array.from({ length: 10_001 }, () => new Uint8Array([1]));
    assert.equal(
      raw.write(COOKIE, MessageType.GetRequest, encodeGetRequest({ objectIds: tooManyIds, timeoutMs: 0 }), -1),
      Status.ok,
    );
    expectError(ErrorCode.InvalidRequest, /limit is 10000/);
    assert.equal(
      raw.write(
        COOKIE,
        MessageType.GetRequest,
        encodeGetRequest({ objectIds: [new Uint8Array(65)], timeoutMs: 0 }),
        -1,
      ),
      Status.ok,
    );
    expectError(ErrorCode.InvalidRequest, /1 to 64 bytes/);
    // An oversized request: refused from its header, then the connection is closed.
    // (A 64 MiB store accepts 65 MiB requests, so that any object fits in a CreateAndSeal.)
    writeRaw(raw.fd, frameHeader(COOKIE, MessageType.GetRequest, 66 * 1024 * 1024));
    expectError(ErrorCode.InvalidRequest, /larger than the limit of 68157440/);
    assert.equal(raw.read(-1), Status.peer_closed);
    // A connection speaking another protocol is told so and closed.
    using stranger = FrameConnection.adopt(connectUnix(store.socketPath));
    assert.equal(stranger.write(0x1234n, 1, new Uint8Array(8), -1), Status.ok);
    assert.equal(stranger.read(-1), Status.ok);
    assert.match(decodeErrorReply(stranger.payload()).message, /bad frame header: neither protocol/);
    assert.equal(stranger.read(-1), Status.peer_closed);
    // The bystander never noticed.
    const [object] = await bystander.get([id], { timeoutMs: 0 });
    assert.deepEqual([...object!.data], [5]);
    assert.equal((await bystander.stats()).numClients, 1);
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("100 concurrent clients in four processes all put and get their objects", async () => {
  const store = await spawnStore();
  try {
    const outputs = await Promise.all(
      [0, 1, 2, 3].map(() => outputOf(spawnClient(store.socketPath, "manyClients", "25"))),
    );
    assert.deepEqual(outputs, [["ok 25"], ["ok 25"], ["ok 25"], ["ok 25"]]);
    await using client = await PlasmaClient.connect(store.socketPath);
    const stats = await client.stats();
    assert.equal(stats.numObjects, 100);
    assert.equal(stats.numObjectsInUse, 0);
    await eventually(async () => (await client.stats()).numClients === 1);
  } finally {
    await store.stop();
  }
});
