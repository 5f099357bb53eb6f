import assert from "node:assert/strict";
import { SharedMemoryChunk } from "../../../ffi/shared_memory.ts";
import { withSmallDisk } from "../../../tests/_store_fixture.ts";
import { decodeSpillHeader, parseSpillUrl, SPILL_HEADER_BYTES } from "./spill_format.ts";
import { SpillError, SpillIo } from "./spill_io.ts";

const MIB = 1024 * 1024;

function pattern(seed: number, length: number): Uint8Array {
  return new Uint8Array(length).map((_, index) => (index * 31 + seed * 7) & 0xff);
}

async function withSpillIo(body: (chunk: SharedMemoryChunk, io: SpillIo) => Promise<void>): Promise<void> {
  const chunk = SharedMemoryChunk.create(8 * MIB);
  const io = SpillIo.start([{ id: 1, fd: chunk.fd, sizeBytes: chunk.sizeBytes }]);
  try {
    await body(chunk, io);
  } finally {
    await io.close();
    chunk.close();
  }
}

Deno.test("a spilled batch is one file in Ray's format and restores byte for byte elsewhere", async () => {
  const directory = await Deno.makeTempDir();
  try {
    await withSpillIo(async (chunk, io) => {
      const objects = [0, 1, 2].map((seed) => ({
        key: `k${seed}`,
        chunkId: 1,
        offset: seed * MIB,
        dataSize: 1000 + seed,
        metadataSize: seed,
        ownerAddress: new Uint8Array([seed, seed]),
      }));
      for (const object of objects) {
        chunk.bytes().set(pattern(Number(object.key[1]), object.dataSize + object.metadataSize), object.offset);
      }
      const { path, urls } = await io.spill(directory, objects);
      const file = Deno.readFileSync(path);
      urls.forEach((url, index) => {
        const location = parseSpillUrl(url);
        assert.equal(location.path, path);
        const [owner, metadata, data] = decodeSpillHeader(file.subarray(location.offset));
        assert.deepEqual([owner, metadata, data], [2, objects[index].metadataSize, objects[index].dataSize]);
        assert.equal(location.size, SPILL_HEADER_BYTES + owner + metadata + data);
      });
      chunk.bytes().fill(0);
      for (const [index, object] of objects.entries()) {
        const target = {
          chunkId: 1,
          offset: 5 * MIB + index * 4096,
          dataSize: object.dataSize,
          metadataSize: object.metadataSize,
        };
        await io.restore(urls[index], target);
        const restored = chunk.bytes().subarray(target.offset, target.offset + object.dataSize + object.metadataSize);
        assert.deepEqual(restored, pattern(index, object.dataSize + object.metadataSize));
      }
      await io.deleteFile(path);
      await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
      await io.deleteFile(path); // a missing file is fine
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("a spill to a missing directory or a full disk fails with SpillError and leaves no file", async () => {
  await withSpillIo(async (_chunk, io) => {
    const object = {
      key: "k",
      chunkId: 1,
      offset: 0,
      dataSize: 4 * MIB,
      metadataSize: 0,
      ownerAddress: new Uint8Array(),
    };
    await assert.rejects(
      io.spill("/nonexistent/spill", [object]),
      (error: unknown) => error instanceof SpillError && /to \/nonexistent\/spill/.test(error.message),
    );
    await withSmallDisk(MIB, async (directory) => {
      await assert.rejects(
        io.spill(directory, [object]),
        (error: unknown) =>
          error instanceof SpillError && /4\.0 MiB/.test(error.message) && /space/i.test(error.message),
      );
      assert.deepEqual([...Deno.readDirSync(directory)], []);
    });
  });
});

Deno.test("a restore whose header disagrees with the expected sizes fails", async () => {
  const directory = await Deno.makeTempDir();
  try {
    await withSpillIo(async (_chunk, io) => {
      const object = {
        key: "k",
        chunkId: 1,
        offset: 0,
        dataSize: 100,
        metadataSize: 0,
        ownerAddress: new Uint8Array(),
      };
      const { urls } = await io.spill(directory, [object]);
      await assert.rejects(io.restore(urls[0], { chunkId: 1, offset: 0, dataSize: 99, metadataSize: 0 }), SpillError);
      assert.throws(() => parseSpillUrl("no-query"), RangeError);
      assert.throws(() => parseSpillUrl("/x?offset=-1&size=30"), RangeError);
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("spill I/O runs off the calling thread: its timers keep firing during a 64 MiB spill", async () => {
  const directory = await Deno.makeTempDir();
  const chunk = SharedMemoryChunk.create(64 * MIB, { populate: true });
  const io = SpillIo.start([{ id: 1, fd: chunk.fd, sizeBytes: chunk.sizeBytes }]);
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    const objects = Array.from({ length: 16 }, (_, index) => ({
      key: `k${index}`,
      chunkId: 1,
      offset: index * 4 * MIB,
      dataSize: 4 * MIB,
      metadataSize: 0,
      ownerAddress: new Uint8Array(),
    }));
    await io.spill(directory, objects);
    const elapsedMs = performance.now() - started;
    clearInterval(timer);
    assert.ok(ticks >= Math.min(5, elapsedMs / 4), `${ticks} ticks in ${elapsedMs.toFixed(0)} ms`);
  } finally {
    await io.close();
    chunk.close();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("restores asked for together are read together: a damaged or missing one fails alone", async () => {
  const directory = await Deno.makeTempDir();
  try {
    await withSpillIo(async (chunk, io) => {
      // Two files, objects of ~600 KiB (more than one hashed piece each), spilled out of order.
      const objects = [0, 1, 2, 3, 4, 5].map((seed) => ({
        key: `k${seed}`,
        chunkId: 1,
        offset: seed * MIB,
        dataSize: 600_000 + seed,
        metadataSize: 10 + seed,
        ownerAddress: new Uint8Array([seed]),
      }));
      for (const [index, object] of objects.entries()) {
        chunk.bytes().set(pattern(index, object.dataSize + object.metadataSize), object.offset);
      }
      const first = await io.spill(directory, objects.slice(0, 3));
      const second = await io.spill(directory, objects.slice(3));
      const urls = [...second.urls, ...first.urls];
      const order = [3, 4, 5, 0, 1, 2];
      // Damage object 4 (one byte of its data) and make object 5's URL point past the file's end.
      const damaged = parseSpillUrl(urls[1]);
      const bytes = Deno.readFileSync(damaged.path);
      bytes[damaged.offset + damaged.size - 1] ^= 0xff;
      Deno.writeFileSync(damaged.path, bytes);
      urls[2] = urls[2].replace(/offset=\d+/, "offset=99999999");
      chunk.bytes().fill(0);
      const targets = order.map((seed, index) => ({
        chunkId: 1,
        offset: index * MIB,
        dataSize: objects[seed].dataSize,
        metadataSize: objects[seed].metadataSize,
      }));
      const results = await Promise.allSettled(urls.map((url, index) => io.restore(url, targets[index])));
      assert.deepEqual(results.map((result) => result.status), [
        "fulfilled",
        "rejected",
        "rejected",
        "fulfilled",
        "fulfilled",
        "fulfilled",
      ]);
      assert.match(String((results[1] as PromiseRejectedResult).reason), /damaged: checksum/);
      assert.match(String((results[2] as PromiseRejectedResult).reason), /cut short|damaged/);
      for (const index of [0, 3, 4, 5]) {
        const target = targets[index];
        const restored = chunk.bytes().subarray(target.offset, target.offset + target.dataSize + target.metadataSize);
        assert.deepEqual(
          restored,
          pattern(order[index], target.dataSize + target.metadataSize),
          `object ${order[index]}`,
        );
      }
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
