/**
 * Attacks from the issue on "unbreakable": each test plays a hostile or careless client against a
 * store process and checks that the store keeps serving everyone else.
 */
import assert from "node:assert/strict";
import { FrameConnection } from "../ffi/frame_connection.ts";
import { closeFd } from "../ffi/shared_memory.ts";
import { Status } from "../ffi/status.ts";
import { connectUnix, socketPair } from "../ffi/unix_socket.ts";
import { PlasmaClient } from "../src/client/mod.ts";
import { encodeEmpty } from "../src/protocol/encode.ts";
import { ARROW_VERSION, ArrowMessageType } from "../src/protocol/arrow/messages.ts";
import { PENDING_GET_IDS_PER_CLIENT_MAX } from "../src/store/constants.ts";
import { startFlooder } from "./_flooder.ts";
import { REPO, spawnStore, type StoreProcess } from "./_store_fixture.ts";
import { pipeFds } from "./fixtures/raw_write.ts";

const PYTHON = `${REPO}.venv/bin/python`;
const SEALED_OBJECTS = 3;

/** Subscribes on a raw Arrow connection, passing `fd` as the notification socket, then hangs up. */
function subscribeWith(socketPath: string, fd: number): void {
  using arrow = FrameConnection.adopt(connectUnix(socketPath));
  assert.equal(arrow.write(ARROW_VERSION, ArrowMessageType.SubscribeRequest, encodeEmpty(), -1), Status.ok);
  assert.equal(arrow.sendFd(fd, -1), Status.ok);
}

/** A store with a few sealed objects (the subscription sends one notification per object). */
async function storeWithSealedObjects(): Promise<StoreProcess> {
  const store = await spawnStore(["--memory", "64MiB"]);
  await using client = await PlasmaClient.connect(store.socketPath);
  for (let index = 0; index < SEALED_OBJECTS; index++) await client.put(new Uint8Array([index]));
  return store;
}

/** The store still answers, a while after the attack (a dead store worker exits within seconds). */
async function assertStillServing(store: StoreProcess): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  await using client = await PlasmaClient.connect(store.socketPath);
  assert.equal((await client.stats()).numObjects, SEALED_OBJECTS);
  const { code, output } = await store.stop();
  assert.equal(code, 0, output);
  assert.doesNotMatch(output, /NativeError|Uncaught/);
}

Deno.test("an Arrow Subscribe whose notification fd is a pipe does not stop the store", async () => {
  const store = await storeWithSealedObjects();
  try {
    const [readEnd, writeEnd] = pipeFds();
    subscribeWith(store.socketPath, readEnd);
    closeFd(readEnd);
    closeFd(writeEnd);
    await assertStillServing(store);
  } finally {
    await store.stop();
  }
});

Deno.test("an Arrow Subscribe whose notification socket's peer is closed does not stop the store", async () => {
  const store = await storeWithSealedObjects();
  try {
    const [storeEnd, ourEnd] = socketPair();
    closeFd(ourEnd);
    subscribeWith(store.socketPath, storeEnd);
    closeFd(storeEnd);
    await assertStillServing(store);
  } finally {
    await store.stop();
  }
});

Deno.test("a pyarrow client that subscribes and exits at once does not stop the store", async () => {
  const store = await storeWithSealedObjects();
  try {
    const script = "import sys, warnings; warnings.simplefilter('ignore'); import pyarrow.plasma as p; " +
      "c = p.connect(sys.argv[1]); c.subscribe()";
    const { code, stderr } = await new Deno.Command(PYTHON, { args: ["-c", script, store.socketPath] }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    await assertStillServing(store);
  } finally {
    await store.stop();
  }
});

Deno.test("malformed Arrow frames from many connections cannot flood the store's log", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  try {
    const attempts = 200;
    for (let index = 0; index < attempts; index++) {
      using arrow = FrameConnection.adopt(connectUnix(store.socketPath));
      const garbage = new Uint8Array(16).fill(0xff);
      assert.equal(arrow.write(ARROW_VERSION, ArrowMessageType.GetRequest, garbage, -1), Status.ok);
      // The store answers a bad Arrow frame by closing the connection.
      assert.notEqual(arrow.read(-1), Status.ok);
    }
    const { code, output } = await store.stop();
    assert.equal(code, 0, output);
    const refusals = output.split("\n").filter((line) => line.includes("closing a pyarrow client's connection"));
    assert.ok(refusals.length >= 1 && refusals.length <= 20, `${refusals.length} log lines for ${attempts} bad frames`);
  } finally {
    await store.stop();
  }
});

Deno.test("a client pipelining 200,000 requests does not make another client's put wait for its whole burst", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  try {
    const flooder = await startFlooder(store.socketPath, "read", 200_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await using polite = await PlasmaClient.connect(store.socketPath);
    await polite.put(new Uint8Array([1]));
    let text = "";
    for (let chunk = await flooder.lines.read(); !chunk.done; chunk = await flooder.lines.read()) text += chunk.value;
    assert.equal((await flooder.child.status).code, 0);
    const [, first, total] = /first=(-?\d+) total=(\d+)/.exec(text)!.map(Number);
    // Served in turn, the put lands while most of the burst is still to come; served after the
    // burst (no fairness), the flood's replies see it only at the very end.
    assert.ok(first >= 0 && first < total / 2, `the put was seen by reply ${first} of ${total}`);
  } finally {
    await store.stop();
  }
});

Deno.test("clients that never read their replies are paused, not served into memory, and others keep being served", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  const flooders: Deno.ChildProcess[] = [];
  try {
    const rssBefore = rssBytes(store.child.pid);
    for (let index = 0; index < 2; index++) flooders.push((await startFlooder(store.socketPath, "noread")).child);
    await using polite = await PlasmaClient.connect(store.socketPath);
    const deadline = performance.now() + 4_000;
    let served = 0;
    while (performance.now() < deadline) {
      await polite.put(new Uint8Array([served & 0xff]));
      served++;
    }
    const stats = await polite.stats();
    assert.equal(stats.numClients, 3, "a client that does not read was dropped");
    assert.equal(stats.numObjects, served);
    const grownBytes = rssBytes(store.child.pid) - rssBefore;
    assert.ok(grownBytes < 96 * 1024 * 1024, `the store grew by ${(grownBytes / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    for (const flooder of flooders) flooder.kill("SIGKILL");
    for (const flooder of flooders) await flooder.status;
    await store.stop();
  }
});

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]) * 1024;
}

Deno.test("flooding clients killed while the store still writes to them do not stop the store", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  try {
    for (let round = 0; round < 3; round++) {
      const flooders = [
        await startFlooder(store.socketPath, "read", 1_000_000_000),
        await startFlooder(store.socketPath, "noread"),
      ];
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const { child } of flooders) child.kill("SIGKILL");
      for (const { child, lines } of flooders) {
        await child.status;
        await lines.cancel();
      }
    }
    await using client = await PlasmaClient.connect(store.socketPath);
    assert.equal((await client.stats()).numClients, 1);
    const { code, output } = await store.stop();
    assert.equal(code, 0, output);
    assert.doesNotMatch(output, /NativeError|crashed/);
  } finally {
    await store.stop();
  }
});

// Failure 2: a thousand gets of ten thousand ids each were within both count limits and took the
// store to 6 GB. Here 200 gets of 10,000 ids (~1.3 GB without a bound on waiting ids).
Deno.test("one client's pending gets are bounded in ids: the gets past the limit are refused and the store stays small", async () => {
  const gets = 200;
  const idsPerGet = 10_000;
  const store = await spawnStore(["--memory", "64MiB"]);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--config=${REPO}deno.json`,
      `${REPO}tests/fixtures/pending_getter.ts`,
      store.socketPath,
      `${gets}`,
      `${idsPerGet}`,
    ],
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const rssBefore = rssBytes(store.child.pid);
    const { value } = await lines.read();
    const { refused, firstRefusal } = JSON.parse(value!);
    const waiting = PENDING_GET_IDS_PER_CLIENT_MAX / idsPerGet;
    assert.equal(refused, gets - waiting, `${waiting} gets wait, the others are refused`);
    assert.match(firstRefusal, new RegExp(`the limit is ${PENDING_GET_IDS_PER_CLIENT_MAX} waiting ids per client`));
    await using polite = await PlasmaClient.connect(store.socketPath);
    const stats = await polite.stats();
    assert.equal(stats.numPendingGets, waiting);
    const grownBytes = rssBytes(store.child.pid) - rssBefore;
    assert.ok(grownBytes < 256 * 1024 * 1024, `the store grew by ${(grownBytes / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await lines.cancel().catch(() => {});
    await store.stop();
  }
});
