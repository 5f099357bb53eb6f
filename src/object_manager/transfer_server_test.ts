import assert from "node:assert/strict";
import { ObjectId, PlasmaClient } from "../client/mod.ts";
import { ObjectStoreRunner } from "../runner/object_store_runner.ts";
import { PeerConnection, PullFailedError } from "./peer_connection.ts";
import { newTransferCounters } from "./transfer_counters.ts";
import { TransferServer } from "./transfer_server.ts";

const MIB = 1024 * 1024;

/** Bytes that differ per object and per position, so a mixed-up answer cannot pass. */
function pattern(seed: number, bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, index) => (seed * 31 + index * 7) & 0xff);
}

Deno.test("pulls sent together are answered together: small, large, missing and repeated ids all get their own bytes", async () => {
  const directory = await Deno.makeTempDir();
  const runner = await ObjectStoreRunner.start({
    socketPath: `${directory}/store.sock`,
    capacityBytes: 64 * MIB,
    directory: "/dev/shm",
    populate: false,
    hugepages: false,
    fullDelayMs: 10,
    oomGraceMs: 200,
  });
  const store = await PlasmaClient.connect(runner.socketPath);
  const counters = newTransferCounters();
  const server = TransferServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    nodeId: "holder",
    secret: null,
    store,
    counters,
    log: () => {},
  });
  let peer: PeerConnection | undefined;
  try {
    await using writer = await PlasmaClient.connect(runner.socketPath);
    // 200 small objects (batched into one write), 2 over the small-payload limit (streamed), one of 9 MiB (3 chunks).
    const sizes = [...Array.from({ length: 200 }, (_, index) => index * 37 % 4096), 70_000, 200_000, 9 * MIB];
    const objects = await Promise.all(sizes.map(async (size, index) => {
      const id = ObjectId.random();
      const data = pattern(index, size);
      const metadata = pattern(index + 1000, index % 5);
      await writer.put(data, { id, metadata });
      return { id, data, metadata };
    }));
    peer = await PeerConnection.connect(`127.0.0.1:${server.port}`, "puller", null);
    const connection = peer;
    const pullInto = (object: (typeof objects)[number]) => {
      const target = new Uint8Array(object.data.length + object.metadata.length);
      const sizes = { dataSize: object.data.length, metadataSize: object.metadata.length };
      return connection.pull(object.id.rawBytes, target, sizes).then(() => target);
    };
    const missing = ObjectId.random();
    const [received, repeated, missed] = await Promise.all([
      Promise.all(objects.map(pullInto)),
      Promise.all([pullInto(objects[3]), pullInto(objects[3])]),
      connection.pull(missing.rawBytes, new Uint8Array(1), { dataSize: 1, metadataSize: 0 }).then(
        () => null,
        (error) => error,
      ),
    ]);
    objects.forEach((object, index) => {
      assert.deepEqual(received[index], new Uint8Array([...object.data, ...object.metadata]), `object ${index}`);
    });
    for (const copy of repeated) assert.deepEqual(copy, new Uint8Array([...objects[3].data, ...objects[3].metadata]));
    assert.ok(missed instanceof PullFailedError && missed.notFound, `expected PullFailedError, got ${missed}`);
    assert.equal(counters.numObjectsPushed, objects.length + 2);
    // Every object the server got is released (releases are one-way messages on the server's own
    // connection, so some may still be on their way): a deferred delete must complete soon.
    await writer.delete(objects.map((object) => object.id));
    const deadline = performance.now() + 10_000;
    while ((await writer.list()).length > 0) {
      assert.ok(performance.now() < deadline, "objects the server got were never released");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    peer?.close();
    await server.close();
    store.close();
    await runner.stop();
    await Deno.remove(directory, { recursive: true });
  }
});
