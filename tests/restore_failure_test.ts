/**
 * A restore that fails (spill file removed or truncated under a live store) answers the gets
 * waiting for it at once with an error naming the object, counts in the stats, logs one line per
 * failure and emits a restoreFailed event; the objects still in memory are unaffected.
 * @module
 */
import assert from "node:assert/strict";
import { type ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { ObjectStoreRunner } from "../src/runner/object_store_runner.ts";
import type { StoreEvent } from "../src/store/store_events.ts";
import { eventually, spawnStore } from "./_store_fixture.ts";

const MIB = 1024 * 1024;
const OBJECTS = 12;
/** Fails the test instead of hanging if a get waits for a deadline that never comes (timeout -1). */
const HANG_GUARD_MS = 20_000;

/** Puts OBJECTS objects of 1 MiB (byte value = index + 1) and waits until some are spilled. */
async function putAndSpill(client: PlasmaClient): Promise<ObjectId[]> {
  const ids: ObjectId[] = [];
  for (let index = 0; index < OBJECTS; index++) ids.push(await client.put(new Uint8Array(MIB).fill(index + 1)));
  await eventually(async () => (await client.stats()).numObjectsOnDisk >= 4);
  return ids;
}

/** Damages the spill files: the first is cut to a quarter, the others are removed. */
function damageSpillFiles(directory: string): void {
  const files = [...Deno.readDirSync(directory)].map((entry) => `${directory}/${entry.name}`).sort();
  assert.ok(files.length >= 1, "nothing was spilled");
  const [first, ...rest] = files;
  Deno.truncateSync(first, Math.floor(Deno.statSync(first).size / 4));
  for (const file of rest) Deno.removeSync(file);
}

/** Gets every object with timeout -1, one at a time: the bytes, or the error message of a failed get. */
async function getEach(client: PlasmaClient, ids: ObjectId[]): Promise<(number | string)[]> {
  const outcomes: (number | string)[] = [];
  for (const id of ids) {
    let guard: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<never>((_, reject) => {
      guard = setTimeout(() => reject(new Error(`get of ${id} still waits`)), HANG_GUARD_MS);
    });
    try {
      const [object] = await Promise.race([client.get([id], { timeoutMs: -1 }), hang]);
      outcomes.push(object!.data[MIB - 1]);
      await client.release(id);
    } catch (error) {
      if ((error as Error).message.includes("still waits")) throw error;
      assert.equal((error as { code?: string }).code, "UnexpectedError", String(error));
      assert.match((error as Error).message, new RegExp(`restore of object ${id.toHex()} failed`));
      outcomes.push((error as Error).message);
    } finally {
      clearTimeout(guard);
    }
  }
  return outcomes;
}

Deno.test("gets of objects whose spill files were removed or truncated fail at once, counted and logged once each", async () => {
  const spillDirectory = await Deno.makeTempDir({ prefix: "plasma-spill-" });
  const store = await spawnStore(["--memory", "8MiB", "--spill-directory", spillDirectory, "--no-fallback"]);
  try {
    await using client = await PlasmaClient.connect(store.socketPath);
    const ids = await putAndSpill(client);
    damageSpillFiles(spillDirectory);
    const outcomes = await getEach(client, ids);
    const failures = outcomes.filter((outcome) => typeof outcome === "string");
    assert.ok(failures.length >= 1, "at least the removed files' objects fail");
    outcomes.forEach((outcome, index) => {
      if (typeof outcome === "number") assert.equal(outcome, index + 1, `object ${index} came back intact`);
    });
    const stats = await client.stats();
    assert.equal(stats.numRestoresFailed, failures.length);
    assert.equal(stats.numPendingGets, 0);
    const { output } = await store.stop();
    const logged = output.split("\n").filter((line) => /restore of object [0-9a-f]+ failed/.test(line));
    assert.equal(logged.length, failures.length, output);
  } finally {
    await store.stop();
    await Deno.remove(spillDirectory, { recursive: true });
  }
});

Deno.test("a failed restore emits a restoreFailed event naming the object", async () => {
  const directory = await Deno.makeTempDir({ prefix: "plasma-restore-" });
  const spillDirectory = `${directory}/spill`;
  await Deno.mkdir(spillDirectory);
  const runner = await ObjectStoreRunner.start({
    socketPath: `${directory}/store.sock`,
    capacityBytes: 8 * MIB,
    directory: "/dev/shm",
    populate: false,
    hugepages: false,
    fullDelayMs: 10,
    oomGraceMs: 2_000,
    spillDirectory,
  });
  const events: StoreEvent[] = [];
  runner.onEvent((event) => events.push(event));
  try {
    await using client = await PlasmaClient.connect(runner.socketPath);
    const ids = await putAndSpill(client);
    for (const entry of Deno.readDirSync(spillDirectory)) Deno.removeSync(`${spillDirectory}/${entry.name}`);
    const failed = (await getEach(client, ids)).filter((outcome) => typeof outcome === "string");
    assert.ok(failed.length >= 4);
    await eventually(() => events.filter((event) => event.type === "restoreFailed").length === failed.length);
    const event = events.find((event) => event.type === "restoreFailed");
    assert.ok(event?.type === "restoreFailed" && ids.some((id) => id.toHex() === event.objectIdHex));
    assert.match(event.message, /No such file|not found|NotFound/i);
  } finally {
    await runner.stop();
    await Deno.remove(directory, { recursive: true });
  }
});
