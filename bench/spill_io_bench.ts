/**
 * The spill I/O alone, without a store: SpillIo (the code the store uses, with its per-object
 * checksum) spills 52 objects of 4 MiB from a populated memfd chunk into one file and restores
 * them as one batch, against a plain writeSync of the same chunk into a file, a plain readSync of
 * that file back into the chunk, and XXH3 over it, in the same process and round. Each round runs
 * the spill I/O three ways: checksums in line, on the helper thread, and on it only while no task
 * waits for a CPU (the store's way). What the store adds on top is the difference to pressure_bench.ts.
 *   deno run -A bench/spill_io_bench.ts [--rounds 4] [--dir /tmp]
 * Invariant: the chunk, the Worker and the temp dir are released in a finally block.
 * @module
 */
import { parseArgs } from "node:util";
import { hash64 } from "../ffi/checksum.ts";
import { SharedMemoryChunk } from "../ffi/shared_memory.ts";
import type { HelperHashPolicy, SpillSource } from "../src/store/spill_io/messages.ts";
import { SpillIo } from "../src/store/spill_io/spill_io.ts";

const OBJECT_BYTES = 4 * 1024 * 1024;
const OBJECTS = 52;
const CHUNK_BYTES = OBJECTS * OBJECT_BYTES;

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "4" }, dir: { type: "string", default: "/tmp" } },
});

function gbps(bytes: number, ms: number): number {
  return bytes / ms / 1e6;
}

/** Writes the chunk into a fresh file in 4 MiB writes, then closes it: GB/s. */
function plainWrite(directory: string, bytes: Uint8Array): number {
  const path = `${directory}/plain`;
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const started = performance.now();
  for (let offset = 0; offset < bytes.length; offset += OBJECT_BYTES) {
    const part = bytes.subarray(offset, offset + OBJECT_BYTES);
    for (let done = 0; done < part.length;) done += file.writeSync(part.subarray(done));
  }
  file.close();
  const ms = performance.now() - started;
  Deno.removeSync(path);
  return gbps(bytes.length, ms);
}

/** Writes the chunk into a file (untimed), then reads it back into the chunk in 4 MiB reads: GB/s. */
function plainRead(directory: string, bytes: Uint8Array): number {
  const path = `${directory}/read`;
  Deno.writeFileSync(path, bytes);
  const file = Deno.openSync(path, { read: true });
  const started = performance.now();
  for (let offset = 0; offset < bytes.length; offset += OBJECT_BYTES) {
    const part = bytes.subarray(offset, offset + OBJECT_BYTES);
    for (let done = 0; done < part.length;) done += file.readSync(part.subarray(done)) ?? part.length;
  }
  const ms = performance.now() - started;
  file.close();
  Deno.removeSync(path);
  return gbps(bytes.length, ms);
}

function hashAll(bytes: Uint8Array): number {
  const started = performance.now();
  for (let offset = 0; offset < bytes.length; offset += OBJECT_BYTES) {
    hash64(bytes.subarray(offset, offset + OBJECT_BYTES));
  }
  return gbps(bytes.length, performance.now() - started);
}

/** Spills the objects (after an untimed spill of the same, for recycled pages) and restores them as one batch. */
async function spillAndRestore(io: SpillIo, directory: string, objects: SpillSource[]): Promise<[number, number]> {
  await io.deleteFile((await io.spill(directory, objects)).path);
  const spillStarted = performance.now();
  const { path, urls } = await io.spill(directory, objects);
  const spill = gbps(CHUNK_BYTES, performance.now() - spillStarted);
  const restoreStarted = performance.now();
  await Promise.all(
    urls.map((url, index) =>
      io.restore(url, { chunkId: 0, offset: index * OBJECT_BYTES, dataSize: OBJECT_BYTES, metadataSize: 0 })
    ),
  );
  const restore = gbps(CHUNK_BYTES, performance.now() - restoreStarted);
  await io.deleteFile(path);
  return [spill, restore];
}

const chunk = SharedMemoryChunk.create(CHUNK_BYTES, { populate: true });
/** One spill I/O Worker per place the checksums are computed (see HelperHashPolicy), alternated in each round. */
const POLICIES: HelperHashPolicy[] = ["never", "always", "auto"];
const ios = POLICIES.map((policy) => SpillIo.start([{ id: 0, fd: chunk.fd, sizeBytes: CHUNK_BYTES }], policy));
const directory = await Deno.makeTempDir({ dir: values.dir, prefix: "plasma-spill-io-bench-" });
try {
  chunk.bytes().fill(7);
  const objects = Array.from({ length: OBJECTS }, (_, index) => ({
    key: String(index),
    chunkId: 0,
    offset: index * OBJECT_BYTES,
    dataSize: OBJECT_BYTES,
    metadataSize: 0,
    ownerAddress: new Uint8Array(0),
  }));
  console.log(
    `spill I/O alone, ${OBJECTS} x 4 MiB, into ${values.dir} (page cache, no fsync); GB/s; ` +
      `checksums ${POLICIES.map((policy) => `${policy} on the helper`).join(" / ")}`,
  );
  for (let round = 0; round < Number(values.rounds); round++) {
    plainWrite(directory, chunk.bytes()); // the page-cache caveat of pressure_bench: timed writes reuse freed pages
    const write = plainWrite(directory, chunk.bytes());
    const results: [number, number][] = [];
    // Rotated each round, so no policy always runs first.
    for (let turn = 0; turn < ios.length; turn++) {
      const index = (turn + round) % ios.length;
      results[index] = await spillAndRestore(ios[index], directory, objects);
    }
    const read = plainRead(directory, chunk.bytes());
    const each = (which: 0 | 1, reference: number) =>
      results.map((result) => `${result[which].toFixed(2)} (${(result[which] / reference).toFixed(2)}x)`).join(" / ");
    console.log(
      `  plain write ${write.toFixed(2)}  spill ${each(0, write)}  plain read ${read.toFixed(2)}  ` +
        `restore, one batch ${each(1, read)}  XXH3 ${hashAll(chunk.bytes()).toFixed(1)}`,
    );
  }
} finally {
  for (const io of ios) await io.close();
  chunk.close();
  await Deno.remove(directory, { recursive: true });
}
