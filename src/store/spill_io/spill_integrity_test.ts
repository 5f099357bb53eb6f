import assert from "node:assert/strict";
import { SharedMemoryChunk } from "../../../ffi/shared_memory.ts";
import { parseSpillUrl } from "./spill_format.ts";
import { newSpillFilePath, processStartTicks, removeDeadSpillFiles } from "./spill_files.ts";
import type { HelperHashPolicy } from "./messages.ts";
import { SpillError, SpillIo } from "./spill_io.ts";

const MIB = 1024 * 1024;
const OBJECTS = 3;

interface Spilled {
  io: SpillIo;
  chunk: SharedMemoryChunk;
  path: string;
  urls: string[];
  targets: { chunkId: number; offset: number; dataSize: number; metadataSize: number }[];
}

/** Bytes between objects in the source and target areas: room for the large objects below. */
const STRIDE_BYTES = 320 * 1024;

/**
 * Spills patterned objects (with metadata and an owner address) into `directory`: three small
 * ones by default; `dataSize` of 256 KiB and more takes the hash queue's path in batches.
 */
async function withSpilled(
  directory: string,
  body: (spilled: Spilled) => Promise<void>,
  { count = OBJECTS, dataSize = 5000, helperHash = "auto" as HelperHashPolicy, ownerBytes = 4 } = {},
): Promise<void> {
  const chunk = SharedMemoryChunk.create(4 * MIB);
  const io = SpillIo.start([{ id: 1, fd: chunk.fd, sizeBytes: chunk.sizeBytes }], helperHash);
  try {
    const objects = Array.from({ length: count }, (_, index) => ({
      key: `k${index}`,
      chunkId: 1,
      offset: index * STRIDE_BYTES,
      dataSize: dataSize + index,
      metadataSize: 3,
      ownerAddress: new Uint8Array(ownerBytes).map((_, index) => index + 1),
    }));
    chunk.bytes().subarray(0, 2 * MIB).forEach((_, index, bytes) => bytes[index] = (index * 13) & 0xff);
    const { path, urls } = await io.spill(directory, objects);
    const targets = objects.map((object, index) => ({
      chunkId: 1,
      offset: 2 * MIB + index * STRIDE_BYTES,
      dataSize: object.dataSize,
      metadataSize: object.metadataSize,
    }));
    await body({ io, chunk, path, urls, targets });
  } finally {
    await io.close();
    chunk.close();
  }
}

async function inTempDir(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "plasma-spill-integrity-" });
  try {
    await body(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

function flipByte(path: string, position: number): void {
  const bytes = Deno.readFileSync(path);
  bytes[position] ^= 0x5a;
  Deno.writeFileSync(path, bytes);
}

Deno.test("a changed byte anywhere in a spilled object's record fails its restore as damaged", async () => {
  const seed = Number(Deno.env.get("SPILL_FUZZ_SEED") ?? Date.now() % 1_000_000);
  console.log(`seed ${seed} (replay: SPILL_FUZZ_SEED=${seed})`);
  let state = seed;
  const random = (below: number) => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) % below;
  for (let round = 0; round < 5; round++) {
    await inTempDir((directory) =>
      withSpilled(directory, async ({ io, path, urls, targets }) => {
        const victim = random(OBJECTS);
        const location = parseSpillUrl(urls[victim]);
        // Round 0 hits the header, round 1 the owner address; the rest anywhere in the record.
        const within = round === 0 ? random(24) : round === 1 ? 24 + random(4) : random(location.size);
        flipByte(path, location.offset + within);
        await assert.rejects(
          io.restore(urls[victim], targets[victim]),
          (error: unknown) => error instanceof SpillError && /damaged|has \d+\+\d+ bytes/.test(error.message),
          `byte ${within} of object ${victim} changed (seed ${seed})`,
        );
        // The other objects of the file still restore.
        await io.restore(urls[(victim + 1) % OBJECTS], targets[(victim + 1) % OBJECTS]);
      })
    );
  }
});

// An owner address too long for the queue to copy makes it refuse the record: the in-line fallback.
for (
  const [helperHash, ownerBytes] of [["always", 4], ["never", 4], ["always", 300]] as [HelperHashPolicy, number][]
) {
  Deno.test(`large objects spilled and restored in batches keep their bytes; a damaged one fails alone (checksums on the helper: ${helperHash}, owner ${ownerBytes} bytes)`, async () => {
    const count = 4;
    const dataSize = 300 * 1024;
    const expectedAt = (object: number) =>
      new Uint8Array(dataSize + object + 3).map((_, index) => ((object * STRIDE_BYTES + index) * 13) & 0xff);
    const restoredAt = (chunk: SharedMemoryChunk, target: Spilled["targets"][number]) =>
      chunk.bytes().subarray(target.offset, target.offset + target.dataSize + target.metadataSize);
    await inTempDir((directory) =>
      withSpilled(directory, async ({ io, chunk, path, urls, targets }) => {
        // One at a time (hashed in line) and all in one request (queued but the last) read the same bytes.
        await io.restore(urls[1], targets[1]);
        assert.deepEqual(restoredAt(chunk, targets[1]), expectedAt(1));
        chunk.bytes().fill(0, 2 * MIB);
        await Promise.all(urls.map((url, object) => io.restore(url, targets[object])));
        for (let object = 0; object < count; object++) {
          assert.deepEqual(restoredAt(chunk, targets[object]), expectedAt(object));
        }
        flipByte(path, parseSpillUrl(urls[1]).offset + 100_000);
        const outcomes = await Promise.allSettled(urls.map((url, object) => io.restore(url, targets[object])));
        assert.deepEqual(outcomes.map((outcome) => outcome.status), [
          "fulfilled",
          "rejected",
          "fulfilled",
          "fulfilled",
        ]);
        assert.match(
          String((outcomes[1] as PromiseRejectedResult).reason),
          /SpillError: spilled object at .* is damaged/,
        );
      }, { count, dataSize, helperHash, ownerBytes })
    );
  });
}

Deno.test("a spill file cut short or removed fails the restore of the objects past the cut", async () => {
  await inTempDir((directory) =>
    withSpilled(directory, async ({ io, chunk, path, urls, targets }) => {
      const last = parseSpillUrl(urls[OBJECTS - 1]);
      Deno.truncateSync(path, last.offset + 100);
      await assert.rejects(io.restore(urls[OBJECTS - 1], targets[OBJECTS - 1]), /cut short/);
      await io.restore(urls[0], targets[0]);
      const expected = new Uint8Array(targets[0].dataSize).map((_, index) => (index * 13) & 0xff);
      assert.deepEqual(chunk.bytes().subarray(targets[0].offset, targets[0].offset + targets[0].dataSize), expected);
      Deno.removeSync(path);
      await assert.rejects(io.restore(urls[0], targets[0]), /cannot be opened/);
    })
  );
});

Deno.test("a stopping store removes its own spill files; dead stores' files go, live ones stay", async () => {
  await inTempDir(async (directory) => {
    // A live store's file: this very process (another store instance in it).
    const live = newSpillFilePath(directory, `${Deno.pid}-${processStartTicks(Deno.pid)}-0badcafe`);
    // A dead store's: a process that has exited; and a reused pid (same pid, other start time).
    const exited = new Deno.Command("true").spawn();
    await exited.status;
    const dead = newSpillFilePath(directory, `${exited.pid}-1-00000001`);
    const reused = newSpillFilePath(directory, `${Deno.pid}-${processStartTicks(Deno.pid)! + 1}-00000002`);
    const foreign = `${directory}/not-a-spill-file.bin`;
    for (const path of [live, dead, reused, foreign]) Deno.writeFileSync(path, new Uint8Array(10));
    let ours = "";
    await withSpilled(directory, ({ path }) => {
      ours = path;
      // The first spill into the directory already removed the dead stores' files.
      assert.throws(() => Deno.statSync(dead), Deno.errors.NotFound);
      assert.throws(() => Deno.statSync(reused), Deno.errors.NotFound);
      assert.ok(Deno.statSync(ours).isFile);
      return Promise.resolve();
    });
    assert.throws(() => Deno.statSync(ours), Deno.errors.NotFound);
    assert.ok(Deno.statSync(live).isFile);
    assert.ok(Deno.statSync(foreign).isFile);
    assert.deepEqual(removeDeadSpillFiles(directory), []);
    assert.deepEqual(removeDeadSpillFiles(`${directory}/missing`), []);
  });
});
