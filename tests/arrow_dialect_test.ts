/**
 * The Arrow dialect against real processes: pyarrow 11 clients (from the project's virtualenv,
 * made by tools/python_env.sh) and our TypeScript client share objects both ways, zero-copy; and
 * a connection's dialect is fixed by its first frame.
 */
import assert from "node:assert/strict";
import { FrameConnection } from "../ffi/frame_connection.ts";
import { closeFd, lookupAddress } from "../ffi/shared_memory.ts";
import { Status } from "../ffi/status.ts";
import { connectUnix, socketPair } from "../ffi/unix_socket.ts";
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { encodeEmpty, encodeGetRequest } from "../src/protocol/encode.ts";
import { decodeErrorReply } from "../src/protocol/decode.ts";
import { COOKIE } from "../src/protocol/frame.ts";
import { MessageType } from "../src/protocol/messages.ts";
import { ARROW_VERSION, ArrowMessageType } from "../src/protocol/arrow/messages.ts";
import * as arrowFb from "../src/protocol/arrow/generated/mod.ts";
import * as flatbuffers from "flatbuffers";
import { checksum, patternFor } from "./fixtures/client_role.ts";
import { eventually, outputOf, REPO, spawnStore } from "./_store_fixture.ts";
import { readRaw } from "./fixtures/raw_write.ts";

const PYTHON = `${REPO}.venv/bin/python`;

function spawnPyarrow(socketPath: string, role: string, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command(PYTHON, {
    args: [`${REPO}tests/fixtures/pyarrow_role.py`, socketPath, role, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** A 20-byte id, the only length Arrow's clients use. */
function arrowId(seed: number): ObjectId {
  const bytes = new Uint8Array(20);
  new DataView(bytes.buffer).setUint32(0, seed);
  bytes.set(crypto.getRandomValues(new Uint8Array(16)), 4);
  return ObjectId.fromBytes(bytes);
}

function readArrowConnectReply(connection: FrameConnection): number {
  assert.equal(connection.read(-1), Status.ok);
  assert.equal(connection.type, ArrowMessageType.ConnectReply);
  const reply = arrowFb.ConnectReply.getRootAsConnectReply(new flatbuffers.ByteBuffer(connection.payload()));
  return Number(reply.memoryCapacity());
}

Deno.test("objects made by our client are read zero-copy by pyarrow with the same bytes and metadata", async () => {
  const store = await spawnStore();
  try {
    await using client = await PlasmaClient.connect(store.socketPath);
    const expected: string[] = [];
    for (let seed = 0; seed < 4; seed++) {
      const id = arrowId(seed);
      const bytes = patternFor(seed, 64 * 1024 + seed);
      const buffer = await client.create(id, bytes.length, { metadata: new TextEncoder().encode(`ts-${seed}`) });
      buffer.set(bytes);
      await client.seal(id);
      expected.push(`${id.toHex()} ${checksum(bytes)} ts-${seed}`);
    }
    const lines = await outputOf(spawnPyarrow(store.socketPath, "read", ...expected.map((line) => line.split(" ")[0])));
    assert.equal(lines.length, expected.length);
    for (const [index, line] of lines.entries()) {
      const [hex, sum, metadata, ...mapping] = line.split(" ");
      assert.equal(`${hex} ${sum} ${metadata}`, expected[index]);
      // Read in place: the bytes sit in the store's shared memory file, not in a private copy.
      // (O_TMPFILE files show as /dev/shm/#inode, deleted.)
      assert.match(mapping.join(" "), /^\/dev\/shm\/#\d+ \(deleted\)$/);
    }
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("objects made by pyarrow are read zero-copy by our client with the same bytes", async () => {
  const store = await spawnStore();
  try {
    const lines = await outputOf(spawnPyarrow(store.socketPath, "write", "3", String(100_000)));
    assert.equal(lines.length, 3);
    await using client = await PlasmaClient.connect(store.socketPath);
    const ids = lines.map((line) => ObjectId.fromHex(line.split(" ")[0]));
    const objects = await client.get(ids, { timeoutMs: 0 });
    for (const [index, object] of objects.entries()) {
      assert.ok(object !== null, `object ${index} missing`);
      assert.equal(`${ids[index].toHex()} ${checksum(object.data)}`, lines[index]);
      assert.deepEqual(object.data, patternFor(index, 100_000));
      assert.equal(new TextDecoder().decode(object.metadata), "from-pyarrow");
      // Zero-copy: the view points into a chunk this process mapped from the store's fd.
      const address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(object.data)));
      assert.ok(lookupAddress(address) !== null);
    }
    // pyarrow sealed them with a digest and released them: our List sees them sealed and free.
    const listed = new Map((await client.list()).map((entry) => [entry.id.toHex(), entry]));
    for (const id of ids) assert.equal(listed.get(id.toHex())?.refCount, 1); // our own get holds them
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("a connection's dialect is chosen by its first frame and cannot change mid-stream", async () => {
  const store = await spawnStore(["--memory", "16MiB"]);
  try {
    await using bystander = await PlasmaClient.connect(store.socketPath);
    // Arrow first: answered in Arrow's dialect (its ConnectReply carries the capacity)...
    using arrow = FrameConnection.adopt(connectUnix(store.socketPath));
    assert.equal(arrow.write(ARROW_VERSION, ArrowMessageType.ConnectRequest, encodeEmpty(), -1), Status.ok);
    assert.equal(readArrowConnectReply(arrow), 16 * 1024 * 1024);
    // ...and a frame of our dialect on it closes it: Arrow's protocol has no way to say why.
    assert.equal(arrow.write(COOKIE, MessageType.ConnectRequest, encodeEmpty(), -1), Status.ok);
    assert.equal(arrow.read(-1), Status.peer_closed);
    // Ours first: an Arrow frame later is refused in our dialect, then the connection closes.
    using ours = FrameConnection.adopt(connectUnix(store.socketPath));
    assert.equal(
      ours.write(COOKIE, MessageType.GetRequest, encodeGetRequest({ objectIds: [], timeoutMs: 0 }), -1),
      Status.ok,
    );
    assert.equal(ours.read(-1), Status.ok);
    assert.equal(ours.type, MessageType.GetReply);
    assert.equal(ours.write(ARROW_VERSION, ArrowMessageType.ConnectRequest, encodeEmpty(), -1), Status.ok);
    assert.equal(ours.read(-1), Status.ok);
    assert.match(decodeErrorReply(ours.payload()).message, /not this connection's \(plasma\)/);
    assert.equal(ours.read(-1), Status.peer_closed);
    // Garbage first bytes close that connection only.
    using stranger = FrameConnection.adopt(connectUnix(store.socketPath));
    assert.equal(stranger.write(0xdeadbeefn, 1, new Uint8Array(8), -1), Status.ok);
    assert.equal(stranger.read(-1), Status.ok);
    assert.match(decodeErrorReply(stranger.payload()).message, /neither protocol/);
    assert.equal(stranger.read(-1), Status.peer_closed);
    const id = await bystander.put(new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await bystander.get([id], { timeoutMs: 0 }))[0]!.data], [1, 2, 3]);
  } finally {
    const { code, output } = await store.stop();
    assert.equal(code, 0);
    assert.match(output, /closing a pyarrow client's connection/);
  }
});

Deno.test("malformed Arrow requests close only their own connection", async () => {
  const store = await spawnStore(["--memory", "16MiB"]);
  try {
    await using bystander = await PlasmaClient.connect(store.socketPath);
    const cases: [number, Uint8Array][] = [
      [ArrowMessageType.GetRequest, new Uint8Array([1, 2, 3, 250, 0, 0, 0, 9])], // not a FlatBuffer
      [ArrowMessageType.GetReply, encodeEmpty()], // a reply is not a request
      [ArrowMessageType.DataRequest, encodeEmpty()], // a request this store does not serve
      [ArrowMessageType.ContainsRequest, containsRequest(new Uint8Array(19))], // ids are 20 bytes
    ];
    for (const [type, payload] of cases) {
      using arrow = FrameConnection.adopt(connectUnix(store.socketPath));
      assert.equal(arrow.write(ARROW_VERSION, type, payload, -1), Status.ok);
      assert.equal(arrow.read(-1), Status.peer_closed, `type ${type}`);
    }
    assert.equal((await bystander.stats()).numClients, 1);
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("a pyarrow client killed mid-write leaves nothing behind; a TS get of that id keeps waiting", async () => {
  const store = await spawnStore(["--memory", "16MiB"]);
  try {
    await using client = await PlasmaClient.connect(store.socketPath);
    const holder = spawnPyarrow(store.socketPath, "hold", String(4 << 20));
    const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const hex = (await reader.read()).value!.trim();
    assert.equal((await client.stats()).numObjectsUnsealed, 1);
    holder.kill("SIGKILL");
    await holder.status;
    reader.releaseLock();
    await holder.stderr.cancel();
    await eventually(async () => (await client.stats()).numObjectsUnsealed === 0);
    const stats = await client.stats();
    assert.equal(stats.numObjects, 0);
    assert.equal(await client.contains(ObjectId.fromHex(hex)), false);
    assert.deepEqual(await client.get([ObjectId.fromHex(hex)], { timeoutMs: 50 }), [null]);
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("pyarrow creates 3x the capacity of a spilling store: creates wait for spills, every object reads back", async () => {
  const spill = await Deno.makeTempDir({ prefix: "plasma-arrow-spill-" });
  const store = await spawnStore(["--memory", "4MiB", "--spill-directory", spill]);
  try {
    const lines = await outputOf(spawnPyarrow(store.socketPath, "write", "12", String(1 << 20)));
    assert.equal(lines.length, 12);
    await using client = await PlasmaClient.connect(store.socketPath);
    for (const line of lines) {
      const [hex, sum] = line.split(" ");
      const [object] = await client.get([ObjectId.fromHex(hex)], { timeoutMs: 10_000 });
      assert.ok(object !== null, `object ${hex} lost`);
      assert.equal(String(checksum(object.data)), sum);
      await client.release(object.id);
    }
    assert.ok((await client.stats()).numObjectsSpilled > 0);
  } finally {
    assert.equal((await store.stop()).code, 0);
    await Deno.remove(spill, { recursive: true });
  }
});

Deno.test("bin/plasma-store-server refuses bad flags in one line with exit 1, as Arrow's server", async () => {
  const { code, stderr } = await new Deno.Command(`${REPO}bin/plasma-store-server`, {
    args: ["-s", "/tmp/never.sock", "-m", "1GiB"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 1);
  assert.match(
    new TextDecoder().decode(stderr),
    /plasma-store-server: -m takes memory in bytes, with no letter suffix allowed\n$/,
  );
});

function containsRequest(id: Uint8Array): Uint8Array {
  const builder = new flatbuffers.Builder(64);
  builder.finish(arrowFb.ContainsRequest.createContainsRequest(builder, builder.createString(id)));
  return builder.asUint8Array();
}

const ARROW_FUZZ_SEED = Number(Deno.env.get("PLASMA_FUZZ_SEED") ?? 20261126);

Deno.test(`random Arrow frames (seed ${ARROW_FUZZ_SEED}) never crash the store; each is answered or closes its own connection`, async () => {
  const store = await spawnStore(["--memory", "16MiB"]);
  try {
    await using bystander = await PlasmaClient.connect(store.socketPath);
    // Everything below comes from this seed (replay: PLASMA_FUZZ_SEED=N).
    let seed = ARROW_FUZZ_SEED;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const valid = [encodeEmpty(), containsRequest(new Uint8Array(20)), containsRequest(new Uint8Array(3))];
    for (let round = 0; round < 150; round++) {
      using arrow = FrameConnection.adopt(connectUnix(store.socketPath));
      for (let frame = 0; frame < 4; frame++) {
        const type = Math.floor(random() * 40);
        const base = valid[Math.floor(random() * valid.length)];
        // A valid buffer with a few bytes flipped, or plain noise.
        const payload = random() < 0.5
          ? base.slice()
          : new Uint8Array(Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
        for (let flip = 0; flip < 3; flip++) {
          payload[Math.floor(random() * payload.length)] ^= 1 << Math.floor(random() * 8);
        }
        if (arrow.write(ARROW_VERSION, type, payload, -1) !== Status.ok) break;
        if (type === ArrowMessageType.ReleaseRequest || type === ArrowMessageType.SubscribeRequest) break;
        const status = arrow.read(5_000);
        if (status !== Status.ok) {
          assert.equal(status, Status.peer_closed, `round ${round}`);
          break;
        }
      }
    }
    const id = await bystander.put(new Uint8Array([9]));
    assert.deepEqual([...(await bystander.get([id], { timeoutMs: 0 }))[0]!.data], [9]);
    assert.equal((await bystander.stats()).numObjects, 1);
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("an Arrow client's seal digest is kept and reported by List; unsealed objects list with an empty one", async () => {
  const store = await spawnStore(["--memory", "16MiB"]);
  try {
    using arrow = FrameConnection.adopt(connectUnix(store.socketPath));
    const builder = new flatbuffers.Builder(256);
    const send = (type: number, root: (b: flatbuffers.Builder) => number) => {
      builder.clear();
      builder.finish(root(builder));
      assert.equal(arrow.write(ARROW_VERSION, type, builder.asUint8Array(), -1), Status.ok);
      assert.equal(arrow.read(-1), Status.ok);
    };
    const sealedId = new Uint8Array(20).fill(1);
    const unsealedId = new Uint8Array(20).fill(2);
    const digest = new TextEncoder().encode("DIGEST!!");
    for (const id of [sealedId, unsealedId]) {
      send(
        ArrowMessageType.CreateRequest,
        (b) => arrowFb.CreateRequest.createCreateRequest(b, b.createString(id), true, 100n, 0n, 0),
      );
      assert.equal(arrow.type, ArrowMessageType.CreateReply);
      const reply = arrowFb.CreateReply.getRootAsCreateReply(new flatbuffers.ByteBuffer(arrow.payload()));
      assert.equal(reply.error(), 0);
      if (id === sealedId) closeFd(arrow.takeFd(1_000)); // the segment's fd follows the first reply only
    }
    send(
      ArrowMessageType.SealRequest,
      (b) => arrowFb.SealRequest.createSealRequest(b, b.createString(sealedId), b.createString(digest)),
    );
    send(ArrowMessageType.ListRequest, (b) => {
      b.startObject(0);
      return b.endObject();
    });
    const list = arrowFb.ListReply.getRootAsListReply(new flatbuffers.ByteBuffer(arrow.payload()));
    const digests = new Map<number, Uint8Array>();
    for (let index = 0; index < list.objectsLength(); index++) {
      const info = list.objects(index)!;
      const id = info.objectId(flatbuffers.Encoding.UTF8_BYTES) as Uint8Array;
      digests.set(id[0], (info.digest(flatbuffers.Encoding.UTF8_BYTES) as Uint8Array | null) ?? new Uint8Array(0));
    }
    assert.deepEqual(digests.get(1), digest);
    assert.equal(digests.get(2)?.length, 0);
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("an Arrow subscriber that never reads its notifications does not slow the store down", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  try {
    using arrow = FrameConnection.adopt(connectUnix(store.socketPath));
    const [storeEnd, ourEnd] = socketPair();
    assert.equal(arrow.write(ARROW_VERSION, ArrowMessageType.SubscribeRequest, encodeEmpty(), -1), Status.ok);
    assert.equal(arrow.sendFd(storeEnd, -1), Status.ok);
    closeFd(storeEnd);
    await using client = await PlasmaClient.connect(store.socketPath);
    // Far more notifications than a socket buffer holds, none of them read while the puts run.
    // A store that waited for the reader would never finish them: the deadline turns that into a failure.
    const puts = (async () => {
      await client.putBatch(Array.from({ length: 5_000 }, () => ({ data: new Uint8Array(16) })));
      for (let index = 0; index < 200; index++) await client.put(new Uint8Array(16));
    })();
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise((_, reject) =>
      deadline = setTimeout(() => reject(new Error("the store is stuck")), 30_000)
    );
    try {
      await Promise.race([puts, stuck]);
    } finally {
      clearTimeout(deadline);
    }
    assert.equal((await client.stats()).numObjects, 5_200);
    // The subscription was live: the first notification is waiting, length-prefixed.
    const length = new DataView(readRaw(ourEnd, 8).buffer).getBigInt64(0, true);
    assert.ok(length > 0n && length < 1024n, `notification length ${length}`);
    closeFd(ourEnd);
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("pyarrow gets and deletes 50,000 ids in one call each; contains answers for every object", async () => {
  const store = await spawnStore();
  try {
    const lines = await outputOf(spawnPyarrow(store.socketPath, "bulk", "50000", "2000"));
    assert.deepEqual(lines, ["found 2000 deleted 2000"]);
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});

Deno.test("an Arrow debug string asked for by a client that hangs up at once is dropped; the store serves on", async () => {
  const store = await spawnStore(["--memory", "16MiB"]);
  try {
    await using bystander = await PlasmaClient.connect(store.socketPath);
    for (let round = 0; round < 20; round++) {
      using arrow = FrameConnection.adopt(connectUnix(store.socketPath));
      assert.equal(arrow.write(ARROW_VERSION, ArrowMessageType.GetDebugStringRequest, encodeEmpty(), -1), Status.ok);
    }
    using asking = FrameConnection.adopt(connectUnix(store.socketPath));
    assert.equal(asking.write(ARROW_VERSION, ArrowMessageType.GetDebugStringRequest, encodeEmpty(), -1), Status.ok);
    assert.equal(asking.read(-1), Status.ok);
    assert.equal(asking.type, ArrowMessageType.GetDebugStringReply);
    const reply = arrowFb.GetDebugStringReply.getRootAsGetDebugStringReply(
      new flatbuffers.ByteBuffer(asking.payload()),
    );
    assert.match(reply.debugString() ?? "", /^num clients with quota: 0\nquota map size: 0\n/);
    assert.match(reply.debugString() ?? "", /\n\(global lru\) capacity: 16777216\n\(global lru\) used: 0%\n/);
    const id = await bystander.put(new Uint8Array([4]));
    assert.deepEqual([...(await bystander.get([id], { timeoutMs: 0 }))[0]!.data], [4]);
  } finally {
    assert.equal((await store.stop()).code, 0);
  }
});
