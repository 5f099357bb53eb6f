import assert from "node:assert/strict";
import { ObjectId, OutOfMemoryError, PlasmaClient } from "../client/mod.ts";
import { withStore } from "../../tests/_store_fixture.ts";
import { ReceivedBatcher } from "./received_batcher.ts";

const MIB = 1024 * 1024;

/** The real client, counting its putBatch calls (the batcher's one lever on round trips). */
function counting(client: PlasmaClient): { client: PlasmaClient; batches: () => number } {
  let calls = 0;
  const wrapped = {
    putBatch: (...args: Parameters<PlasmaClient["putBatch"]>) => (calls++, client.putBatch(...args)),
    contains: (id: ObjectId) => client.contains(id),
  } as unknown as PlasmaClient;
  return { client: wrapped, batches: () => calls };
}

Deno.test("small objects written together are stored by one batch, as received copies with their metadata", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const { client: wrapped, batches } = counting(client);
    const batcher = new ReceivedBatcher([wrapped]);
    const ids = Array.from({ length: 300 }, () => ObjectId.random());
    await Promise.all(ids.map((id, index) => batcher.write(id, new Uint8Array([index & 255, 7, 8]), 1)));
    assert.equal(batches(), 1);
    const objects = await client.get(ids, { timeoutMs: 0 });
    objects.forEach((object, index) => {
      assert.deepEqual([...object!.data, ...object!.metadata], [index & 255, 7, 8]);
    });
    const listing = await client.list();
    assert.ok(listing.every((entry) => entry.source === "ReceivedFromRemoteRaylet"));
  });
});

Deno.test("a batch with a failure: objects already here succeed, the one that cannot fit fails with its own error", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const present = await client.put(new Uint8Array(4));
    const creating = ObjectId.random();
    await client.create(creating, 4); // unsealed, by a local client
    const batcher = new ReceivedBatcher([client]);
    const fresh = ObjectId.random();
    const tooBig = ObjectId.random();
    const outcomes = await Promise.allSettled([
      batcher.write(present, new Uint8Array(4), 4),
      batcher.write(creating, new Uint8Array(4), 4),
      batcher.write(tooBig, new Uint8Array(3 * MIB), 3 * MIB),
      batcher.write(fresh, new Uint8Array(5), 5),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    assert.ok((outcomes[2] as PromiseRejectedResult).reason instanceof OutOfMemoryError);
    assert.equal(await client.contains(fresh), true);
    assert.equal(await client.contains(tooBig), false);
  }, { memoryBytes: 2 * MIB });
});
