/**
 * Issue 13, failure 6: what clients make the store hold outside object memory is bounded by one
 * budget shared across connections (--client-memory), and given back after the load passes.
 * Real store processes, raw sockets; memory is the store process's VmRSS.
 */
import assert from "node:assert/strict";
import { FrameConnection } from "../ffi/frame_connection.ts";
import { Status } from "../ffi/status.ts";
import { connectUnix, socketPair } from "../ffi/unix_socket.ts";
import { closeFd } from "../ffi/shared_memory.ts";
import { encodeEmpty } from "../src/protocol/encode.ts";
import { ARROW_VERSION, ArrowMessageType } from "../src/protocol/arrow/messages.ts";
import { PlasmaClient } from "../src/client/mod.ts";
import { decodeErrorReply } from "../src/protocol/decode.ts";
import { COOKIE } from "../src/protocol/frame.ts";
import { MessageType } from "../src/protocol/messages.ts";
import { spawnStore, type StoreProcess } from "./_store_fixture.ts";

const MIB = 1024 * 1024;
const CHUNK = new Uint8Array(MIB).fill(0x5a);
/** A message type no dialect handles: the store answers it with an error and keeps the connection. */
const NOT_A_REQUEST = 1000;

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]) * 1024;
}

function rssMib(store: StoreProcess): number {
  return Math.round(rssBytes(store.child.pid) / MIB);
}

/** A raw Ray connection with a frame header claiming `frameBytes` and `sentBytes` of its payload queued. */
function startFrame(
  socketPath: string,
  frameBytes: number,
  sentBytes: number,
  type: number = MessageType.CreateRequest,
): FrameConnection {
  const connection = FrameConnection.adopt(connectUnix(socketPath), { sendPayloadBytesMax: 64 * MIB });
  const header = new DataView(new ArrayBuffer(24));
  header.setBigUint64(0, COOKIE, true);
  header.setBigInt64(8, BigInt(type), true);
  header.setBigInt64(16, BigInt(frameBytes), true);
  assert.equal(connection.queueBytes(new Uint8Array(header.buffer)), Status.ok);
  for (let queued = 0; queued < sentBytes; queued += MIB) {
    assert.equal(connection.queueBytes(CHUNK.subarray(0, Math.min(MIB, sentBytes - queued))), Status.ok);
  }
  return connection;
}

/** Flushes every connection until each has sent all it queued or failed; returns those that failed. */
async function pumpAll(connections: FrameConnection[]): Promise<Set<FrameConnection>> {
  const failed = new Set<FrameConnection>();
  const done = new Set<FrameConnection>();
  const deadline = Date.now() + 30_000;
  while (done.size + failed.size < connections.length) {
    assert.ok(Date.now() < deadline, "the store neither took nor refused the frames within 30 s");
    for (const connection of connections) {
      if (done.has(connection) || failed.has(connection)) continue;
      const status = connection.flush(0);
      if (status === Status.ok) done.add(connection);
      else if (status !== Status.queued) failed.add(connection);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return failed;
}

/** The error the store sent before closing `connection`. */
function refusalOf(connection: FrameConnection): string {
  const status = connection.read(1_000);
  assert.equal(status, Status.ok, `expected an error reply, got status ${status}`);
  assert.equal(connection.type, MessageType.ErrorReply);
  return decodeErrorReply(connection.payload()).message;
}

/** Waits until `check` holds (RSS is given back asynchronously: V8 frees large buffers at its GC). */
async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

// The attack from the issue scaled down: six connections each send most of a large frame
// (30 of 32 MiB) and stop. Without a budget the store holds all six (~180 MiB).
Deno.test("six connections each sending most of a large frame are held to the client memory budget, and the memory comes back", async () => {
  const budgetMib = 64;
  const store = await spawnStore(["--memory", "32MiB", "--client-memory", `${budgetMib}MiB`]);
  const attackers: FrameConnection[] = [];
  try {
    await using polite = await PlasmaClient.connect(store.socketPath);
    await polite.stats();
    const baselineMib = rssMib(store);
    for (let index = 0; index < 6; index++) attackers.push(startFrame(store.socketPath, 32 * MIB, 30 * MIB));
    const refused = await pumpAll(attackers);
    const peakMib = rssMib(store);
    const during = await polite.stats();
    assert.ok(refused.size >= 1, "some attackers were refused");
    assert.equal(during.numClientMemoryRefusals, refused.size);
    assert.ok(during.clientMemoryBytes <= budgetMib * MIB, `clients hold ${during.clientMemoryBytes} bytes`);
    assert.ok(
      peakMib - baselineMib < budgetMib + 24,
      `the store grew by ${peakMib - baselineMib} MiB with a ${budgetMib} MiB budget`,
    );
    for (const connection of refused) {
      assert.match(refusalOf(connection), /this client's share is .* MiB budget, --client-memory/);
    }
    // The polite client was served throughout, and the store gives everything back once they go.
    for (const connection of attackers) connection.close();
    await eventually(() => rssMib(store) - baselineMib < 16);
    const after = await polite.stats();
    assert.equal(after.clientMemoryBytes, 0);
    assert.equal(after.numClients, 1);
    assert.ok(rssMib(store) - baselineMib < 16, `RSS ${rssMib(store)} MiB, baseline ${baselineMib} MiB`);
  } finally {
    for (const connection of attackers) connection.close();
    await store.stop();
  }
});

// A legitimate large request must still fit (one client alone may use the whole budget), and
// the buffers it grew must shrink back while its connection stays open and idle.
Deno.test("buffers grown for large frames shrink back while the connections stay open", async () => {
  const store = await spawnStore(["--memory", "32MiB", "--client-memory", "64MiB"]);
  const clients: FrameConnection[] = [];
  try {
    await using polite = await PlasmaClient.connect(store.socketPath);
    await polite.stats();
    const baselineMib = rssMib(store);
    for (let index = 0; index < 4; index++) {
      // A whole 30 MiB frame of a type that is no request: refused with an error reply, connection kept.
      const connection = startFrame(store.socketPath, 30 * MIB, 30 * MIB, NOT_A_REQUEST);
      clients.push(connection);
      assert.equal((await pumpAll([connection])).size, 0, "a frame within the budget is taken whole");
      assert.match(refusalOf(connection), /is not a request/);
    }
    assert.ok(
      await eventually(() => rssMib(store) - baselineMib < 16),
      `RSS ${rssMib(store)} MiB, baseline ${baselineMib} MiB`,
    );
    const stats = await polite.stats();
    assert.equal(stats.clientMemoryBytes, 0);
    assert.equal(stats.numClients, 1 + clients.length);
    assert.equal(stats.numClientMemoryRefusals, 0);
  } finally {
    for (const connection of clients) connection.close();
    await store.stop();
  }
});

// Idle connections cost their initial buffers only while they are open.
Deno.test("a round of a thousand idle connections leaves the store's RSS near its baseline", async () => {
  const store = await spawnStore(["--memory", "32MiB"]);
  try {
    await using polite = await PlasmaClient.connect(store.socketPath);
    await polite.stats();
    const baselineMib = rssMib(store);
    for (let round = 0; round < 2; round++) {
      const idle: PlasmaClient[] = [];
      for (let index = 0; index < 500; index++) idle.push(await PlasmaClient.connect(store.socketPath));
      for (const client of idle) await client.close();
    }
    assert.equal((await polite.stats()).numClients, 1);
    assert.ok(
      await eventually(() => rssMib(store) - baselineMib < 24),
      `RSS ${rssMib(store)} MiB, baseline ${baselineMib} MiB`,
    );
  } finally {
    await store.stop();
  }
});

// A subscriber that never reads its notifications holds a backlog in the store: it is charged
// to the same budget and dropped when it passes its share (before: kept up to 256 MiB each).
Deno.test("an Arrow subscriber that never reads is dropped when its backlog passes its share of the budget", async () => {
  const store = await spawnStore(["--memory", "32MiB", "--client-memory", "1MiB"]);
  const [storeEnd, ourEnd] = socketPair();
  try {
    using arrow = FrameConnection.adopt(connectUnix(store.socketPath));
    assert.equal(arrow.write(ARROW_VERSION, ArrowMessageType.SubscribeRequest, encodeEmpty(), -1), Status.ok);
    assert.equal(arrow.sendFd(storeEnd, -1), Status.ok);
    closeFd(storeEnd);
    await using client = await PlasmaClient.connect(store.socketPath);
    // ~30,000 notifications of ~100 bytes: more than the socket buffers and the 1 MiB budget.
    for (let batch = 0; batch < 30; batch++) {
      await client.putBatch(Array.from({ length: 1_000 }, () => ({ data: new Uint8Array(1) })));
    }
    const stats = await client.stats();
    assert.equal(stats.numClientMemoryRefusals, 1);
    assert.ok(stats.clientMemoryBytes <= 1024 * 1024, `clients hold ${stats.clientMemoryBytes} bytes`);
    assert.equal(stats.numClients, 2, "the subscriber's own connection stays: only its notifications stop");
  } finally {
    closeFd(ourEnd);
    await store.stop();
  }
});
