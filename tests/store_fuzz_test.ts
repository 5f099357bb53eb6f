/**
 * Seeded random requests, malformed and well-formed, from raw connections: the store answers or
 * closes that one connection, never crashes, and ends with every fuzzer's state cleaned up.
 * A run is decided by its seed alone: no wall-clock timeout picks a branch (each round ends at a
 * barrier request's reply, get timeouts outlast the run, queued creates have no grace period).
 * Replay one with PLASMA_FUZZ_SEED=N.
 */
import assert from "node:assert/strict";
import { FrameConnection } from "../ffi/frame_connection.ts";
import { Status } from "../ffi/status.ts";
import { connectUnix } from "../ffi/unix_socket.ts";
import { PlasmaClient } from "../src/client/mod.ts";
import { decodeContainsReply, decodeCreateReply, decodeGetReply } from "../src/protocol/decode.ts";
import { closeFd } from "../ffi/shared_memory.ts";
import * as encode from "../src/protocol/encode.ts";
import { COOKIE } from "../src/protocol/frame.ts";
import { type ChunkRef, MessageType, type ObjectSource } from "../src/protocol/messages.ts";
import { eventually, spawnStore } from "./_store_fixture.ts";

/** A small seeded generator (mulberry32), so a failure can be replayed from its seed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REQUEST_TYPES = [
  MessageType.CreateRequest,
  MessageType.CreateRetryRequest,
  MessageType.AbortRequest,
  MessageType.SealRequest,
  MessageType.GetRequest,
  MessageType.ReleaseRequest,
  MessageType.DeleteRequest,
  MessageType.ContainsRequest,
  MessageType.ListRequest,
  MessageType.StatsRequest,
  MessageType.CreateAndSealRequest,
  MessageType.ConnectRequest,
  MessageType.GetDebugStringRequest,
];

function randomRequest(random: () => number): { type: number; payload: Uint8Array } {
  const type = random() < 0.05 ? Math.floor(random() * 64) : REQUEST_TYPES[Math.floor(random() * REQUEST_TYPES.length)];
  const ids = Array.from({ length: 1 + Math.floor(random() * 3) }, () => new Uint8Array([Math.floor(random() * 4)]));
  const sizes = [0, 1, 100, 4096, 1 << 20, 2 ** 40, -5];
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
  const valid: Record<number, () => Uint8Array> = {
    [MessageType.CreateRequest]: () =>
      encode.encodeCreateRequest({
        objectId: ids[0],
        dataSize: pick(sizes),
        metadataSize: pick([0, 3]),
        source: pick([0, 1, 2, 3, 99]) as ObjectSource,
        deviceNum: 0,
        tryImmediately: random() < 0.5,
      }),
    [MessageType.CreateRetryRequest]: () =>
      encode.encodeCreateRetryRequest({ objectId: ids[0], requestId: pick([0, 1, 2, 99]) }),
    [MessageType.SealRequest]: () => encode.encodeSealRequest({ objectIds: ids, release: random() < 0.5 }),
    [MessageType.GetRequest]: () =>
      encode.encodeGetRequest({ objectIds: ids, timeoutMs: pick([0, 0, 600_000, -1, -7]) }),
    [MessageType.ReleaseRequest]: () => encode.encodeReleaseRequest({ objectId: ids[0], mayUnmap: random() < 0.5 }),
    [MessageType.DeleteRequest]: () => encode.encodeIdsRequest(ids),
    [MessageType.AbortRequest]: () => encode.encodeIdRequest(ids[0]),
    [MessageType.ContainsRequest]: () => encode.encodeIdRequest(ids[0]),
    [MessageType.CreateAndSealRequest]: () =>
      encode.encodeCreateAndSealRequest({
        objects: ids.map((objectId) => ({
          objectId,
          data: new Uint8Array(pick([0, 10, 1000])),
          metadata: new Uint8Array(),
        })),
      }),
  };
  let payload = (valid[type] ?? encode.encodeEmpty)().slice();
  const mode = random();
  if (mode < 0.3) {
    payload = payload.map((byte) => (random() < 0.05 ? Math.floor(random() * 256) : byte)); // flip bytes
  } else if (mode < 0.4) {
    payload = payload.subarray(0, Math.floor(random() * payload.length)); // truncate
  } else if (mode < 0.5) {
    payload = new Uint8Array(Math.floor(random() * 64)).map(() => Math.floor(random() * 256)); // garbage
  }
  return { type, payload };
}

/** Seeds run by default (2 and 3 once found a client that could orphan an unsealed object). */
const SEEDS = Deno.env.get("PLASMA_FUZZ_SEED") ? [Number(Deno.env.get("PLASMA_FUZZ_SEED"))] : [2, 3, 20261125];

for (const seed of SEEDS) {
  Deno.test(`1500 random requests (seed ${seed}) never crash the store and leave no state behind`, () =>
    fuzz(seed, []));
}

Deno.test(`1500 random requests (seed ${SEEDS[0]}) against a small spilling store never crash it`, async () => {
  const spillDirectory = await Deno.makeTempDir({ prefix: "plasma-fuzz-spill-" });
  try {
    await fuzz(SEEDS[0], ["--spill-directory", spillDirectory]);
  } finally {
    await Deno.remove(spillDirectory, { recursive: true });
  }
});

async function fuzz(seed: number, extraArgs: string[]): Promise<void> {
  const store = await spawnStore(["--memory", "4MiB", "--oom-grace-ms", "0", ...extraArgs]);
  try {
    await using bystander = await PlasmaClient.connect(store.socketPath);
    const random = generator(seed);
    let connection = FrameConnection.adopt(connectUnix(store.socketPath), { payloadBytesMax: 1 << 26 });
    let replies = 0;
    let closes = 0;
    for (let round = 0; round < 1500; round++) {
      const { type, payload } = randomRequest(random);
      const { status, frames } = await roundTrip(connection, type, payload);
      replies += frames;
      if (status !== Status.ok || random() < 0.02) {
        // A stream the store closed, or just a client that leaves.
        connection.close();
        closes++;
        connection = FrameConnection.adopt(connectUnix(store.socketPath), { payloadBytesMax: 1 << 26 });
      }
    }
    connection.close();
    console.log(`seed ${seed}: ${replies} replies, ${closes} reconnects (replay: PLASMA_FUZZ_SEED=${seed})`);
    assert.ok(replies > 750, `only ${replies} replies`);
    assert.ok(closes > 10);
    const id = await bystander.put(new Uint8Array([7]));
    assert.equal(await bystander.contains(id), true);
    await eventually(async () => (await bystander.stats()).numClients === 1);
    const stats = await bystander.stats();
    assert.equal(stats.numObjectsUnsealed, 0, "every fuzzer's unsealed object was aborted");
    assert.equal(stats.numObjectsInUse, 0, "every fuzzer's reference was dropped");
    assert.equal(stats.numPendingGets, 0);
    assert.equal(stats.numQueuedCreates, 0);
  } finally {
    const { code, output } = await store.stop();
    assert.equal(code, 0, output);
  }
}

/** The id of the barrier request: longer than the fuzzer's 1-byte ids, so never one of theirs. */
const BARRIER_ID = new Uint8Array([0xba, 0xbb]);
/** A barrier reply later than this means the store stopped answering: a failure, not a branch. */
const BARRIER_WAIT_MS_MAX = 20_000;

/**
 * Sends the request, then a Contains of BARRIER_ID, which the store answers at once and in
 * order: reading up to its reply collects every reply the request got now, without a timeout.
 * Returns ok and the frames before the barrier's reply, or the status of a stream that failed.
 */
async function roundTrip(
  connection: FrameConnection,
  type: number,
  payload: Uint8Array,
): Promise<{ status: number; frames: number }> {
  let status = connection.write(COOKIE, type, payload, -1);
  if (status === Status.ok) {
    status = connection.write(COOKIE, MessageType.ContainsRequest, encode.encodeIdRequest(BARRIER_ID), -1);
  }
  let frames = 0;
  while (status === Status.ok) {
    status = connection.read(0);
    if (status === Status.would_block) {
      status = await connection.waitReadable(BARRIER_WAIT_MS_MAX);
      if (status !== Status.ok) {
        throw new Error(`no reply to the barrier within ${BARRIER_WAIT_MS_MAX} ms (request type ${type})`);
      }
      continue;
    }
    if (status !== Status.ok) break;
    if (connection.type === MessageType.ContainsReply && isBarrierReply(connection.payload())) {
      return { status, frames };
    }
    frames++;
    takeFollowingFds(connection);
  }
  return { status, frames };
}

/** Takes (and closes) the fds a create or get reply says follow it, as a client must before reading on. */
function takeFollowingFds(connection: FrameConnection): void {
  const payload = connection.payload();
  let refs: ChunkRef[] = [];
  if (connection.type === MessageType.CreateReply) {
    refs = [decodeCreateReply(payload).chunk].filter((ref) => ref !== null);
  }
  if (connection.type === MessageType.GetReply) refs = decodeGetReply(payload).chunks;
  for (const ref of refs) if (ref.fdFollows) closeFd(connection.takeFd(BARRIER_WAIT_MS_MAX));
}

function isBarrierReply(payload: Uint8Array): boolean {
  const { objectId } = decodeContainsReply(payload);
  return objectId.length === BARRIER_ID.length && objectId.every((byte, index) => byte === BARRIER_ID[index]);
}
