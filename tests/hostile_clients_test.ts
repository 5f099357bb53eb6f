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
