/**
 * A holder serves a spilled object from its spill file (no restore into its store), checked
 * against the checksum the store kept; a damaged file fails the pull and nothing is sealed at the
 * puller (each failed attempt is aborted). Real processes, a real Redis; every process is stopped in `finally`.
 */
import assert from "node:assert/strict";
import { type ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { assertNothingHalfWritten, digest, randomBytes, startCluster } from "./_cluster_fixture.ts";
import { eventually } from "./_store_fixture.ts";

const MIB = 1024 * 1024;

/** Flips one byte every 64 KiB of every spill file: every record in them is damaged. */
async function damageSpillFiles(directory: string): Promise<void> {
  for (const entry of Deno.readDirSync(directory)) {
    const path = `${directory}/${entry.name}`;
    const bytes = await Deno.readFile(path);
    for (let offset = 100; offset < bytes.length; offset += 65536) bytes[offset] ^= 0xff;
    await Deno.writeFile(path, bytes);
  }
}

Deno.test("a spilled object is served from its spill file, unrestored; a damaged file fails the pull, nothing is sealed", async () => {
  const spillDirectory = await Deno.makeTempDir({ prefix: "plasma-spill-" });
  const cluster = await startCluster(1, { memory: "32MiB", extraArgs: ["--spill-directory", spillDirectory] });
  try {
    const [holder] = cluster.nodes;
    const puller = await cluster.addNode({ memory: "64MiB", extraArgs: [] });
    await using writer = await PlasmaClient.connect(holder.socketPath);
    const written = new Map<string, { id: ObjectId; bytes: Uint8Array }>();
    for (let index = 0; index < 8; index++) {
      const bytes = randomBytes(6 * MIB + index);
      const id = await writer.put(bytes, { metadata: new TextEncoder().encode(`m${index}`) });
      written.set(id.toHex(), { id, bytes });
    }
    await eventually(async () => (await writer.stats()).numObjectsOnDisk >= 2, 10_000);
    const inMemory = new Set((await writer.list()).map((entry) => entry.id.toHex()));
    const [first, second] = [...written.values()].filter(({ id }) => !inMemory.has(id.toHex()));
    await using reader = await PlasmaClient.connect(puller.socketPath);
    const [object] = await reader.get([first.id], { timeoutMs: 30_000 });
    assert.ok(object, "the spilled object was pulled");
    assert.equal(await digest(object.data), await digest(first.bytes));
    assert.match(new TextDecoder().decode(object.metadata), /^m\d$/);
    await reader.release(first.id);
    assert.equal((await writer.stats()).numObjectsRestoredFromDisk, 0, "the holder did not restore it");

    await damageSpillFiles(spillDirectory);
    assert.deepEqual(await reader.get([second.id], { timeoutMs: 2_000 }), [null]);
    await assertNothingHalfWritten(reader, second.id); // the puller retries the damaged holder meanwhile
    const { output } = await holder.stop();
    assert.match(output, new RegExp(`served object ${first.id.toHex()} to 127\\.0\\.0\\.1:\\d+ from its spill file`));
    // Most flips land in data (checksum); one may hit a record's header (sizes): both are refused.
    const refused = `cannot serve object ${second.id.toHex()} from its spill file: spilled object at \\S+ `;
    assert.match(output, new RegExp(`${refused}(is damaged|has \\d+\\+\\d+ bytes|names an owner)`));
  } finally {
    await cluster.stop();
    await Deno.remove(spillDirectory, { recursive: true });
  }
});
