/** Spilling: primary copies move to disk under pressure and come back on get; nothing is lost. */
import assert from "node:assert/strict";
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { eventually, outputOf, spawnClient, spawnStore, withSmallDisk } from "./_store_fixture.ts";

const MIB = 1024 * 1024;

Deno.test("3x the capacity written by three processes is all read back, byte for byte, in random order", async () => {
  const spillDirectory = await Deno.makeTempDir({ prefix: "plasma-spill-" });
  const store = await spawnStore(["--memory", "16MiB", "--spill-directory", spillDirectory, "--no-fallback"]);
  try {
    const written = (await Promise.all([0, 1, 2].map(() =>
      outputOf(spawnClient(store.socketPath, "write", "16", String(MIB)))
    )))
      .flat();
    assert.equal(written.length, 48);
    await using client = await PlasmaClient.connect(store.socketPath);
    const spilled = await client.stats();
    assert.ok(spilled.numObjectsSpilled >= 30, `only ${spilled.numObjectsSpilled} objects spilled`);
    assert.ok(spilled.numSpillFiles >= 1);
    assert.equal(spilled.numObjectsEvicted, 0, "primary copies are spilled, never dropped");
    const shuffled = [...written].sort(() => Math.random() - 0.5);
    const read = await outputOf(
      spawnClient(store.socketPath, "readEach", ...shuffled.map((line) => line.split(" ")[0])),
    );
    assert.deepEqual(read, shuffled);
    assert.ok((await client.stats()).numObjectsRestoredFromDisk > 0);
    const outcomes = await client.delete(written.map((line) => ObjectId.fromHex(line.split(" ")[0])));
    assert.ok(outcomes.every((outcome) => outcome === "deleted"), JSON.stringify(outcomes));
    await eventually(() => [...Deno.readDirSync(spillDirectory)].length === 0);
    const after = await client.stats();
    assert.equal(after.numObjectsOnDisk, 0);
    assert.equal(after.numSpillFiles, 0);
    assert.equal(after.allocatedBytes, 0);
  } finally {
    await store.stop();
    await Deno.remove(spillDirectory, { recursive: true });
  }
});

// Failure 3 of issue 13: spills to a full disk are retried every SPILL_RETRY_AFTER_FAILURE_MS; each
// retry restarted the waiting create's grace, so with a grace longer than that the create hung.
Deno.test("a full spill disk ends a waiting create with OutOfDisk after its grace, however often the spill is retried", async () => {
  const graceMs = 2_500;
  const hangGuardMs = 30_000;
  await withSmallDisk(2 * MIB, async (spillDirectory) => {
    const store = await spawnStore([
      "--memory",
      "8MiB",
      "--spill-directory",
      spillDirectory,
      "--oom-grace-ms",
      `${graceMs}`,
    ]);
    let guard: ReturnType<typeof setTimeout> | undefined;
    try {
      await using client = await PlasmaClient.connect(store.socketPath);
      for (let index = 0; index < 7; index++) await client.put(new Uint8Array(MIB).fill(index + 1));
      const hung = new Promise<string>((resolve) => guard = setTimeout(() => resolve("hung"), hangGuardMs));
      const outcome = await Promise.race([
        client.create(ObjectId.random(), 2 * MIB).then(
          () => "created",
          (error: { code?: string }) => error.code ?? String(error),
        ),
        hung,
      ]);
      assert.equal(outcome, "OutOfDisk", `the create ended with ${outcome}`);
      assert.ok((await client.stats()).allocatedBytes >= 5 * MIB, "the store still serves, its objects kept");
    } finally {
      clearTimeout(guard);
      await store.stop();
    }
    const { output } = await store.stop();
    assert.match(output, /create of [0-9a-f]+ waited its grace period; it fails: OutOfDisk/);
  });
});

Deno.test("a spill to a full disk fails cleanly: every object stays readable and creates fail with OutOfDisk", async () => {
  await withSmallDisk(2 * MIB, async (spillDirectory) => {
    const store = await spawnStore([
      "--memory",
      "8MiB",
      "--spill-directory",
      spillDirectory,
      "--oom-grace-ms",
      "300",
    ]);
    try {
      await using client = await PlasmaClient.connect(store.socketPath);
      const ids: ObjectId[] = [];
      for (let index = 0; index < 7; index++) ids.push(await client.put(new Uint8Array(MIB).fill(index + 1)));
      await assert.rejects(
        client.create(ObjectId.random(), 2 * MIB),
        (error: unknown) => (error as { code?: string }).code === "OutOfDisk",
      );
      for (const [index, id] of ids.entries()) {
        const [object] = await client.get([id], { timeoutMs: 0 });
        assert.equal(object!.data[MIB - 1], index + 1, `object ${index} intact`);
        await client.release(id);
      }
      assert.equal((await client.stats()).numObjectsSpilled, 0);
    } finally {
      await store.stop();
    }
  });
});
