/**
 * Broadcast relay tests: one large object pulled by several nodes at once travels as a chain
 * (the holder redirects later pullers to a node receiving it, which relays what has arrived), and
 * a relay killed mid-way leaves its downstream puller to finish from the holder. Real processes, a
 * real Redis; every process is stopped in `finally`.
 */
import assert from "node:assert/strict";
import { PlasmaClient } from "../src/client/mod.ts";
import { digest, holdersOf, randomBytes, startCluster } from "./_cluster_fixture.ts";
import { eventually } from "./_store_fixture.ts";

const MIB = 1024 * 1024;

Deno.test("one object pulled by three nodes at once arrives identical everywhere, relayed by a receiving node", async () => {
  const cluster = await startCluster(4, { memory: "400MiB" });
  const outputs: string[] = [];
  try {
    const [source, ...receivers] = cluster.nodes;
    await using writer = await PlasmaClient.connect(source.socketPath);
    const bytes = randomBytes(160 * MIB + 3);
    const metadata = new TextEncoder().encode("broadcast");
    const id = await writer.put(bytes, { metadata });
    await eventually(async () => (await holdersOf(cluster.redis.url, id)).length === 1, 5_000);
    const clients = await Promise.all(receivers.map((node) => PlasmaClient.connect(node.socketPath)));
    try {
      const objects = await Promise.all(clients.map((client) => client.get([id], { timeoutMs: 60_000 })));
      const expected = await digest(bytes);
      for (const [index, [object]] of objects.entries()) {
        assert.ok(object, `node ${index + 2} got the object`);
        assert.equal(await digest(object.data), expected, `node ${index + 2} has identical bytes`);
        assert.deepEqual(object.metadata, metadata);
        await clients[index].release(id);
      }
      // Counters reach stats within ~100 ms: a receiver that pushed the object was a relay.
      await eventually(async () => {
        const pushed = await Promise.all(clients.map(async (client) => (await client.stats()).numObjectsPushed));
        return pushed.reduce((sum, count) => sum + count, 0) >= 1;
      }, 5_000);
    } finally {
      for (const client of clients) client.close();
    }
    for (const node of cluster.nodes) outputs.push((await node.stop()).output);
    assert.match(outputs[0], /redirected the pull of [0-9a-f]+ by 127\.0\.0\.1:\d+ to relay 127\.0\.0\.1:\d+/);
    assert.ok(outputs.slice(1).some((output) => /relaying object [0-9a-f]+ to 127\.0\.0\.1:\d+/.test(output)));
  } finally {
    await cluster.stop();
  }
});

Deno.test("a relay SIGKILLed mid-way: its downstream puller finishes from the holder with identical bytes", async () => {
  const cluster = await startCluster(3, { memory: "600MiB" });
  try {
    const [source, relay, downstream] = cluster.nodes;
    await using writer = await PlasmaClient.connect(source.socketPath);
    await using relayClient = await PlasmaClient.connect(relay.socketPath);
    await using downstreamClient = await PlasmaClient.connect(downstream.socketPath);
    const bytes = randomBytes(384 * MIB);
    // The relay is frozen (SIGSTOP) once it has sent something on, then killed. Under load it can
    // forward the whole object before it is frozen: then this attempt did not test a relay dying
    // mid-way, and a fresh object is tried.
    for (let attempt = 1;; attempt++) {
      const id = await writer.put(bytes);
      await eventually(async () => (await holdersOf(cluster.redis.url, id)).length === 1, 5_000);
      // The relay pulls first; once the holder streams to it, the next puller is redirected to it.
      const relayGet = relayClient.get([id], { timeoutMs: 60_000 }).catch(() => [null]);
      await eventually(async () => (await writer.stats()).numBytesPushed > 0, 10_000);
      const pulling = downstreamClient.get([id], { timeoutMs: 60_000 });
      await eventually(async () => (await relayClient.stats()).numBytesPushed > 0, 10_000);
      relay.child.kill("SIGSTOP");
      const finishedAnyway = await Promise.race([pulling.then(() => true), delay(300).then(() => false)]);
      if (finishedAnyway) {
        relay.child.kill("SIGCONT");
        await relayGet;
        await downstreamClient.release(id);
        await writer.delete([id], { everywhere: true });
        if (attempt === 3) throw new Error("the relay forwarded the whole object before it could be stopped, 3 times");
        continue;
      }
      await relay.stop("SIGKILL");
      await relayGet;
      const [object] = await pulling;
      assert.ok(object, "the downstream pull completed");
      assert.equal(await digest(object.data), await digest(bytes));
      await downstreamClient.release(id);
      break;
    }
    const { output } = await downstream.stop();
    assert.match(output, /via relay 127\.0\.0\.1:\d+ failed .*; retrying from a holder/);
  } finally {
    await cluster.stop();
  }
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
