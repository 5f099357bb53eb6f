/**
 * Spill files against real store processes: a damaged file is never served as the object's data,
 * and the files of a killed store are removed when the next store starts, never a live store's.
 */
import assert from "node:assert/strict";
import { type ObjectId, PlasmaClient, StoreError } from "../src/client/mod.ts";
import { eventually, spawnStore } from "./_store_fixture.ts";

const MIB = 1024 * 1024;

function patternFor(seed: number, length: number): Uint8Array {
  return new Uint8Array(length).map((_, index) => (index * 7 + seed * 31) & 0xff);
}

function spillFiles(directory: string): string[] {
  return [...Deno.readDirSync(directory)].filter((entry) => entry.name.startsWith("plasma-spill-"))
    .map((entry) => `${directory}/${entry.name}`);
}

async function inSpillDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "plasma-spill-e2e-" });
  try {
    await body(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

/** Puts 2 MiB objects into a 16 MiB store until some of them are spilled; returns their ids. */
async function putUntilSpilled(client: PlasmaClient, directory: string, count = 12): Promise<ObjectId[]> {
  const ids: ObjectId[] = [];
  for (let seed = 0; seed < count; seed++) ids.push(await client.put(patternFor(seed, 2 * MIB)));
  await eventually(async () => (await client.stats()).numObjectsSpilled > 0 && spillFiles(directory).length > 0);
  return ids;
}

Deno.test("a damaged spill file is never served: gets of its objects fail naming the damage, others are intact", async () => {
  await inSpillDirectory(async (directory) => {
    const store = await spawnStore(["--memory", "16MiB", "--spill-directory", directory]);
    try {
      await using client = await PlasmaClient.connect(store.socketPath);
      const ids = await putUntilSpilled(client, directory);
      // Damage every spill file every 64 KiB: each spilled object has bytes changed.
      for (const path of spillFiles(directory)) {
        const bytes = Deno.readFileSync(path);
        for (let position = 100; position < bytes.length; position += 64 * 1024) bytes[position] ^= 0xff;
        Deno.writeFileSync(path, bytes);
      }
      let refused = 0;
      for (const [seed, id] of ids.entries()) {
        let object;
        try {
          [object] = await client.get([id], { timeoutMs: 1_000 });
        } catch (error) {
          // The failed restore answers the get at once, naming the damage.
          assert.ok(error instanceof StoreError, String(error));
          assert.match(error.message, /restore of object [0-9a-f]+ failed: spilled object at .* is damaged/);
          refused++;
          continue;
        }
        assert.ok(object !== null, `object ${seed} is missing without an error`);
        assert.deepEqual(object.data, patternFor(seed, 2 * MIB), `object ${seed} came back with other bytes`);
        await client.release(id);
      }
      assert.ok(refused > 0, "no object was read back from a damaged file");
    } finally {
      await store.stop();
    }
  });
});

Deno.test("spill files of a killed store are removed when the next store starts; a live store's stay", async () => {
  await inSpillDirectory(async (directory) => {
    const killed = await spawnStore(["--memory", "16MiB", "--spill-directory", directory]);
    try {
      await using client = await PlasmaClient.connect(killed.socketPath);
      await putUntilSpilled(client, directory);
    } finally {
      await killed.stop("SIGKILL");
    }
    const orphans = spillFiles(directory);
    assert.ok(orphans.length > 0);
    const live = await spawnStore(["--memory", "16MiB", "--spill-directory", directory]);
    let stopped = false;
    try {
      assert.deepEqual(spillFiles(directory), [], "the killed store's spill files are still there");
      await using client = await PlasmaClient.connect(live.socketPath);
      await putUntilSpilled(client, directory);
      const liveFiles = spillFiles(directory);
      const second = await spawnStore(["--memory", "16MiB", "--spill-directory", directory]);
      const { code, output } = await second.stop();
      assert.equal(code, 0, output);
      for (const path of liveFiles) assert.ok(Deno.statSync(path).isFile, `a live store's ${path} was removed`);
      stopped = true;
      const { code: liveCode, output: liveOutput } = await live.stop();
      assert.equal(liveCode, 0, liveOutput);
      assert.match(liveOutput, /removed \d+ spill files of stopped stores/);
    } finally {
      if (!stopped) await live.stop();
    }
    // A clean stop leaves none of the store's own files behind.
    assert.deepEqual(spillFiles(directory), []);
  });
});
