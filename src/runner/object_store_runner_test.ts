import assert from "node:assert/strict";
import { ConnectionClosedError, ObjectId, OutOfMemoryError, PlasmaClient } from "../client/mod.ts";
import { ObjectStoreRunner } from "./object_store_runner.ts";
import type { StoreEvent } from "../store/store_events.ts";

const MIB = 1024 * 1024;

async function startRunner(directory: string): Promise<ObjectStoreRunner> {
  return await ObjectStoreRunner.start({
    socketPath: `${directory}/store.sock`,
    capacityBytes: 4 * MIB,
    directory: "/dev/shm",
    populate: false,
    hugepages: false,
    fullDelayMs: 10,
    oomGraceMs: 50,
  });
}

Deno.test("the runner delivers added, deleted and store-full events to the main thread", async () => {
  const directory = await Deno.makeTempDir();
  const runner = await startRunner(directory);
  const events: StoreEvent[] = [];
  runner.onEvent((event) => events.push(event));
  try {
    await using client = await PlasmaClient.connect(runner.socketPath);
    const id = await client.put(new Uint8Array(10));
    await client.delete([id]);
    await client.create(ObjectId.random(), 3 * MIB);
    await assert.rejects(client.create(ObjectId.random(), 2 * MIB), OutOfMemoryError);
    const deadline = performance.now() + 2_000;
    while (events.length < 3 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(events.slice(0, 2).map((event) => event.type), ["objectAdded", "objectDeleted"]);
    const full = events.find((event) => event.type === "storeFull");
    assert.ok(full && full.type === "storeFull" && full.requestedBytes === 2 * MIB && full.capacityBytes === 4 * MIB);
  } finally {
    await runner.stop();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("stopping the runner closes clients, removes the socket file, and is safe twice", async () => {
  const directory = await Deno.makeTempDir();
  const runner = await startRunner(directory);
  try {
    const client = await PlasmaClient.connect(runner.socketPath);
    assert.equal((await Deno.stat(runner.socketPath)).mode! & 0o777, 0o600, "only the owner may connect");
    await runner.stop();
    await runner.stop();
    await assert.rejects(client.contains(ObjectId.random()), ConnectionClosedError);
    client.close();
    await assert.rejects(Deno.stat(runner.socketPath), Deno.errors.NotFound);
  } finally {
    await runner.stop();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("a runner that cannot start rejects with the store's reason", async () => {
  await assert.rejects(
    ObjectStoreRunner.start({
      socketPath: "/nonexistent-dir/store.sock",
      capacityBytes: 4 * MIB,
      directory: "/dev/shm",
      populate: false,
      hugepages: false,
      fullDelayMs: 10,
      oomGraceMs: 50,
    }),
    /Listening on \/nonexistent-dir\/store.sock failed: not found/,
  );
});
