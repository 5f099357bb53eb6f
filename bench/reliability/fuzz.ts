/**
 * A stateful fuzzer of both dialects: each connection plays a client of one dialect, sending
 * valid request sequences over the ids it made (create, seal, get, release, delete, abort,
 * contains, list, subscribe with its fd, ...) with a share of them mutated (flipped bits, a wrong
 * type, a header whose length lies, an fd nobody asked for). Frames are a pure function of the
 * seed, so a failure replays with --seed. The store must stay up, keep answering a bystander
 * correctly, and end with no client state left once the connections close.
 * @module
 */
import { closeFd } from "../../ffi/shared_memory.ts";
import { FrameConnection } from "../../ffi/frame_connection.ts";
import { Status } from "../../ffi/status.ts";
import { connectUnix, socketPair } from "../../ffi/unix_socket.ts";
import { PlasmaClient } from "../../src/client/mod.ts";
import * as encode from "../../src/protocol/encode.ts";
import { COOKIE } from "../../src/protocol/frame.ts";
import { MessageType } from "../../src/protocol/messages.ts";
import { ARROW_VERSION, ArrowMessageType } from "../../src/protocol/arrow/messages.ts";
import * as arrow from "./_arrow_requests.ts";
import { type ProbedStore, seededRandom, settle } from "./_store_probe.ts";

export interface FuzzOptions {
  frames: number;
  connections: number;
  seed: number;
  /** Share of frames mutated. */
  mutationRate: number;
}

export interface FuzzResult {
  frames: number;
  mutated: number;
  fdsSent: number;
  reconnects: number;
  seconds: number;
  /** Null when the store ended clean and answered the bystander right every time. */
  complaint: string | null;
}

const FRAMES_PER_FLUSH = 128;
const IDS_PER_CONNECTION_MAX = 64;

type Frame = { cookie: bigint; type: number; payload: Uint8Array; fd: boolean };

/** One fuzzing client: its dialect, its ids, its socket (replaced when the store closes it). */
class FuzzClient {
  readonly arrow: boolean;
  readonly ids: Uint8Array[] = [];
  connection: FrameConnection;
  constructor(arrowDialect: boolean, socketPath: string) {
    this.arrow = arrowDialect;
    this.connection = FrameConnection.adopt(connectUnix(socketPath, { nonBlocking: true }));
  }
}

function randomId(random: () => number): Uint8Array {
  return Uint8Array.from({ length: 20 }, () => Math.floor(random() * 256));
}

function pick<T>(random: () => number, items: T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** A valid next request of our dialect over the client's ids. */
function rayFrame(random: () => number, client: FuzzClient): Frame {
  const known = client.ids.length > 0 ? pick(random, client.ids) : randomId(random);
  const choice = Math.floor(random() * 10);
  const frame = (type: MessageType, payload: Uint8Array) => ({ cookie: COOKIE, type, payload, fd: false });
  if (choice === 0 || client.ids.length === 0) {
    const id = randomId(random);
    if (client.ids.length < IDS_PER_CONNECTION_MAX) client.ids.push(id);
    const request = {
      objectId: id,
      dataSize: Math.floor(random() * 4096),
      metadataSize: 0,
      source: 0,
      deviceNum: 0,
      tryImmediately: true,
    };
    return frame(MessageType.CreateRequest, encode.encodeCreateRequest(request));
  }
  if (choice === 1) {
    return frame(MessageType.SealRequest, encode.encodeSealRequest({ objectIds: [known], release: true }));
  }
  if (choice === 2) return frame(MessageType.GetRequest, encode.encodeGetRequest({ objectIds: [known], timeoutMs: 0 }));
  if (choice === 3) {
    return frame(MessageType.ReleaseRequest, encode.encodeReleaseRequest({ objectId: known, mayUnmap: false }));
  }
  if (choice === 4) return frame(MessageType.DeleteRequest, encode.encodeIdsRequest([known]));
  if (choice === 5) return frame(MessageType.AbortRequest, encode.encodeIdRequest(known));
  if (choice === 6) return frame(MessageType.ContainsRequest, encode.encodeIdRequest(known));
  if (choice === 7) {
    const objects = [{
      objectId: randomId(random),
      data: new Uint8Array(Math.floor(random() * 256)),
      metadata: new Uint8Array(0),
    }];
    return frame(MessageType.CreateAndSealRequest, encode.encodeCreateAndSealRequest({ objects }));
  }
  if (choice === 8) return frame(MessageType.GetRequest, encode.encodeGetRequest({ objectIds: [known], timeoutMs: 5 }));
  return frame(MessageType.StatsRequest, encode.encodeEmpty());
}

/** A valid next request of Arrow's dialect over the client's ids. */
function arrowFrame(random: () => number, client: FuzzClient): Frame {
  const known = client.ids.length > 0 ? pick(random, client.ids) : randomId(random);
  const choice = Math.floor(random() * 10.2);
  const frame = (type: ArrowMessageType, payload: Uint8Array, fd = false) => ({
    cookie: ARROW_VERSION,
    type,
    payload,
    fd,
  });
  if (choice === 0 || client.ids.length === 0) {
    const id = randomId(random);
    if (client.ids.length < IDS_PER_CONNECTION_MAX) client.ids.push(id);
    return frame(ArrowMessageType.CreateRequest, arrow.arrowCreate(id, Math.floor(random() * 4096), 0));
  }
  if (choice === 1) return frame(ArrowMessageType.SealRequest, arrow.arrowSeal(known));
  if (choice === 2) return frame(ArrowMessageType.GetRequest, arrow.arrowGet([known], 0));
  if (choice === 3) return frame(ArrowMessageType.ReleaseRequest, arrow.arrowRelease(known));
  if (choice === 4) return frame(ArrowMessageType.DeleteRequest, arrow.arrowDelete([known]));
  if (choice === 5) return frame(ArrowMessageType.AbortRequest, arrow.arrowAbort(known));
  if (choice === 6) return frame(ArrowMessageType.ContainsRequest, arrow.arrowContains(known));
  if (choice === 7) {
    return frame(ArrowMessageType.CreateAndSealRequest, arrow.arrowCreateAndSeal(randomId(random), new Uint8Array(64)));
  }
  if (choice === 8) return frame(ArrowMessageType.ListRequest, encode.encodeEmpty());
  if (choice === 9) return frame(ArrowMessageType.EvictRequest, arrow.arrowEvict(Math.floor(random() * 65536)));
  // Rarer: each subscription sends an fd and makes every later seal notify this client.
  return frame(ArrowMessageType.SubscribeRequest, encode.encodeEmpty(), true);
}

/** Mutates a frame in place: flipped bits, a wrong type, or an fd that does not belong. */
function mutate(random: () => number, frame: Frame): Frame | "lying-length" {
  const choice = Math.floor(random() * 5);
  if (choice === 0) return "lying-length";
  if (choice === 1) return { ...frame, type: Math.floor(random() * 64) };
  if (choice === 2) return { ...frame, fd: !frame.fd };
  const payload = frame.payload.slice();
  for (let flip = 0; flip < 1 + Math.floor(random() * 4); flip++) {
    if (payload.length > 0) payload[Math.floor(random() * payload.length)] ^= 1 << Math.floor(random() * 8);
  }
  return { ...frame, payload };
}

/** Queues one frame on the client's connection; false when the connection is broken. */
function queueFrame(client: FuzzClient, frame: Frame | "lying-length", random: () => number): boolean {
  if (frame === "lying-length") {
    const header = new Uint8Array(24);
    const view = new DataView(header.buffer);
    view.setBigUint64(0, client.arrow ? ARROW_VERSION : COOKIE, true);
    view.setBigInt64(8, BigInt(Math.floor(random() * 40)), true);
    view.setBigInt64(16, BigInt(Math.floor(random() * 2 ** 40)) - 2n ** 20n, true);
    return client.connection.queueBytes(header) === Status.ok;
  }
  if (client.connection.queue(frame.cookie, frame.type, frame.payload) !== Status.ok) return false;
  if (!frame.fd) return true;
  // An fd must follow the bytes queued so far: flush them, then send a fresh socket end.
  if (client.connection.flush(-1) !== Status.ok) return false;
  const [ours, theirs] = socketPair();
  const sent = client.connection.sendFd(theirs, -1) === Status.ok;
  closeFd(theirs);
  closeFd(ours);
  return sent;
}

/** Reads and drops whatever the store sent back (fds are closed by the connection). */
function drain(connection: FrameConnection): boolean {
  for (;;) {
    const status = connection.read(0);
    if (status === Status.ok) continue;
    if (status === Status.would_block) return true;
    return false;
  }
}

/**
 * The bystander: a put and a get must come back byte for byte at any time. Arrow's fuzzing
 * clients send Evict, which may drop the bystander's unreferenced object between its put and its
 * get: missing is allowed, other bytes never are.
 */
async function bystanderCheck(bystander: PlasmaClient, round: number): Promise<string | null> {
  const bytes = new Uint8Array(100).fill(round & 0xff);
  const id = await bystander.put(bytes);
  const [object] = await bystander.get([id], { timeoutMs: 1_000 });
  if (object === null) return null;
  const right = object.data.length === bytes.length && object.data.every((byte) => byte === (round & 0xff));
  await bystander.release(id);
  await bystander.delete([id]);
  return right ? null : `the bystander read wrong bytes in round ${round}`;
}

/** Runs the fuzzer against `store`; prints progress every tenth of the frames. */
export async function runFuzz(store: ProbedStore, options: FuzzOptions): Promise<FuzzResult> {
  const random = seededRandom(options.seed);
  const started = performance.now();
  const clients = Array.from(
    { length: options.connections },
    (_, index) => new FuzzClient(index % 2 === 1, store.socketPath),
  );
  await using bystander = await PlasmaClient.connect(store.socketPath);
  const result: FuzzResult = { frames: 0, mutated: 0, fdsSent: 0, reconnects: 0, seconds: 0, complaint: null };
  try {
    for (let round = 0; result.frames < options.frames && result.complaint === null; round++) {
      const client = clients[round % clients.length];
      let healthy = true;
      for (let index = 0; index < FRAMES_PER_FLUSH && healthy; index++) {
        const valid = client.arrow ? arrowFrame(random, client) : rayFrame(random, client);
        const frame = random() < options.mutationRate ? mutate(random, valid) : valid;
        if (frame !== valid) result.mutated++;
        if (frame !== "lying-length" && frame.fd) result.fdsSent++;
        healthy = queueFrame(client, frame, random);
        result.frames++;
      }
      const flushed = client.connection.flush(0);
      healthy &&= flushed === Status.ok || flushed === Status.queued;
      healthy &&= drain(client.connection);
      if (!healthy) {
        client.connection.close();
        client.connection = FrameConnection.adopt(connectUnix(store.socketPath, { nonBlocking: true }));
        client.ids.length = 0;
        result.reconnects++;
      }
      if (round % 500 === 0) {
        if (!(await store.alive())) result.complaint = `the store died after ${result.frames} frames`;
        else result.complaint = await bystanderCheck(bystander, round);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (
        Math.floor(result.frames * 10 / options.frames) >
          Math.floor((result.frames - FRAMES_PER_FLUSH) * 10 / options.frames)
      ) {
        console.log(`  fuzz: ${result.frames} frames (seed ${options.seed})`);
      }
    }
  } finally {
    for (const client of clients) client.connection.close();
  }
  result.complaint ??= await bystanderCheck(bystander, -1);
  result.complaint ??= await settle(async () => {
    const { counters } = await store.footprint();
    const left = counters.numObjectsUnsealed + counters.numPendingGets + counters.numQueuedCreates +
      counters.numObjectsInUse + counters.numClients - 1; // the bystander
    return left === 0 ? null : `client state left after the fuzz: ${JSON.stringify(counters)}`;
  }, 10_000);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

export function describeFuzz(result: FuzzResult, seed: number): string {
  return `${result.frames} frames (${result.mutated} mutated, ${result.fdsSent} with fds, ${result.reconnects} ` +
    `connections closed by the store) in ${result.seconds.toFixed(1)} s ` +
    `(${Math.round(result.frames / result.seconds)} frames/s), seed ${seed}: ${result.complaint ?? "store healthy"}`;
}
