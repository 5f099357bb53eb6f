/**
 * Profiles one pull between two cluster nodes: the time to the first chunk (the holder's store get
 * and the first write) and the gaps between chunks as the puller receives them, through a
 * PeerConnection of this process into a JS buffer, then a get through the store. Noisy on a shared
 * machine: read the spread, not one figure. Every process is stopped in a finally.
 * Usage: deno run -A bench/pull_profile.ts [MiB] (default 256)
 * @module
 */
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { PeerConnection } from "../src/object_manager/peer_connection.ts";
import { holdersOf, startCluster } from "../tests/_cluster_fixture.ts";

const MIB = 1024 * 1024;
const BYTES = Number(Deno.args[0] ?? 256) * MIB;
const ROUNDS = 3;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

const cluster = await startCluster(2, { memory: `${BYTES / MIB + 64}MiB`, extraArgs: ["--populate"] });
try {
  await using writer = await PlasmaClient.connect(cluster.nodes[0].socketPath);
  const id = ObjectId.random();
  (await writer.create(id, BYTES)).fill(7);
  await writer.seal(id);
  while ((await holdersOf(cluster.redis.url, id)).length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  const peer = await PeerConnection.connect(cluster.nodes[0].nodeAddress, "profile", null);
  const target = new Uint8Array(BYTES).fill(1);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const stamps: number[] = [];
      const started = performance.now();
      await peer.pull(id.rawBytes, target, { dataSize: BYTES, metadataSize: 0 }, {
        onProgress: () => stamps.push(performance.now()),
      });
      const direct = performance.now() - started;
      const gaps = stamps.slice(1).map((stamp, index) => stamp - stamps[index]).sort((a, b) => a - b);
      await using reader = await PlasmaClient.connect(cluster.nodes[1].socketPath);
      await reader.delete([await reader.put(new Uint8Array(1))]); // map the store's memory before timing
      const getStarted = performance.now();
      const [object] = await reader.get([id], { timeoutMs: 60_000 });
      const viaStore = performance.now() - getStarted;
      if (object === null) throw new Error("the pull through the store failed");
      await reader.release(id);
      await reader.delete([id]);
      console.log(
        `${BYTES / MIB} MiB: direct ${direct.toFixed(0)} ms (first chunk after ${
          (stamps[0] - started).toFixed(1)
        } ms;` +
          ` chunk gaps p10 ${percentile(gaps, 0.1).toFixed(1)}, p50 ${percentile(gaps, 0.5).toFixed(1)},` +
          ` p90 ${percentile(gaps, 0.9).toFixed(1)} ms), through the store ${viaStore.toFixed(0)} ms;` +
          ` load ${Deno.loadavg()[0].toFixed(1)}`,
      );
    }
  } finally {
    peer.close();
  }
} finally {
  await cluster.stop();
}
