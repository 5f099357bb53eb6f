/**
 * Cluster benchmarks (store processes in cluster mode on loopback, a private Redis): a 1 GiB pull
 * vs a plain TCP stream of the same bytes measured in the same run; 1 GiB broadcast to 3 nodes vs
 * one pull; 10,000 x 1 KiB pulled; the directory's cost per sealed object; puts with and without
 * --cluster. Medians of ROUNDS rounds. Every process is stopped in a finally.
 * Usage: deno run -A bench/cluster_bench.ts [--quick] [--only directory|overhead|small|big]
 * @module
 */
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { RedisDirectory } from "../src/cluster/redis_directory.ts";
import { holdersOf, startCluster, type TestCluster } from "../tests/_cluster_fixture.ts";
import { freePort, RedisFixture } from "../tests/_redis_fixture.ts";
import { spawnStore } from "../tests/_store_fixture.ts";
import { median } from "./_measure.ts";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const QUICK = Deno.args.includes("--quick");
const ROUNDS = QUICK ? 1 : 3;
const BIG_BYTES = QUICK ? 256 * MIB : GIB;
const SMALL_COUNT = 10_000;

const line = (text: string) => console.log(text);
const gbps = (bytes: number, ms: number) => (bytes / ms / 1e6).toFixed(2);

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A plain TCP stream of `bytes` over loopback: a sender process writes 4 MiB slices of a touched
 * buffer, this process reads them into a touched buffer of the same size. @returns ms */
async function plainTcpStream(bytes: number): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const target = new Uint8Array(bytes).fill(1);
  const sender = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const b = new Uint8Array(${bytes}).fill(2); const c = await Deno.connect({ hostname: "127.0.0.1", port: ${listener.addr.port} });
       await new Promise((r) => setTimeout(r, 300));
       for (let o = 0; o < b.length; o += ${4 * MIB}) { let s = b.subarray(o, Math.min(o + ${
        4 * MIB
      }, b.length)); while (s.length) s = s.subarray(await c.write(s)); }
       c.close();`,
    ],
  }).spawn();
  try {
    const conn = await listener.accept();
    let received = 0;
    let started = 0;
    while (received < bytes) {
      const read = await conn.read(target.subarray(received));
      if (read === null) break;
      if (started === 0) started = performance.now();
      received += read;
    }
    const elapsed = performance.now() - started;
    conn.close();
    if (received !== bytes) throw new Error(`stream ended after ${received} bytes`);
    return elapsed;
  } finally {
    listener.close();
    await sender.status;
  }
}

/** Puts a `bytes` object on node 0 and waits until the directory lists it. */
async function putBig(cluster: TestCluster, bytes: number): Promise<ObjectId> {
  await using writer = await PlasmaClient.connect(cluster.nodes[0].socketPath);
  const id = ObjectId.random();
  (await writer.create(id, bytes)).fill(7);
  await writer.seal(id);
  await until(async () => (await holdersOf(cluster.redis.url, id)).length === 1, 10_000);
  return id;
}

/** Bytes each node has pushed to peers so far (its transfer counters, reported every ~100 ms). */
async function bytesPushed(cluster: TestCluster): Promise<number[]> {
  await new Promise((resolve) => setTimeout(resolve, 250));
  return await Promise.all(cluster.nodes.map(async (node) => {
    await using client = await PlasmaClient.connect(node.socketPath);
    return (await client.stats()).numBytesPushed;
  }));
}

/** Gets `id` on the given nodes at once; @returns ms until the last has it */
async function pullOn(cluster: TestCluster, nodes: number[], id: ObjectId): Promise<number> {
  const clients = await Promise.all(nodes.map((index) => PlasmaClient.connect(cluster.nodes[index].socketPath)));
  // A client maps (and populates) the store's chunk on its first reply that names it: do that before timing.
  for (const client of clients) await client.delete([await client.put(new Uint8Array(1))]);
  const started = performance.now();
  const got = await Promise.all(clients.map((client) => client.get([id], { timeoutMs: 120_000 })));
  const elapsed = performance.now() - started;
  for (const [index, client] of clients.entries()) {
    if (got[index][0] === null) throw new Error("a pull failed");
    await client.release(id);
    await client.delete([id]);
    client.close();
  }
  return elapsed;
}

async function bigTransfers(): Promise<void> {
  const memory = `${Math.ceil(BIG_BYTES / MIB) + 64}MiB`;
  const cluster = await startCluster(4, { memory, extraArgs: ["--populate"] });
  try {
    const stream: number[] = [];
    const pull: number[] = [];
    const broadcast: number[] = [];
    let uploads: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      stream.push(await plainTcpStream(BIG_BYTES));
      const id = await putBig(cluster, BIG_BYTES);
      pull.push(await pullOn(cluster, [1], id));
      const before = await bytesPushed(cluster);
      broadcast.push(await pullOn(cluster, [1, 2, 3], id));
      uploads = (await bytesPushed(cluster)).map((after, index) => after - before[index]);
      await using writer = await PlasmaClient.connect(cluster.nodes[0].socketPath);
      await writer.delete([id]);
    }
    const [s, p, b] = [median(stream), median(pull), median(broadcast)];
    line(`${BIG_BYTES / MIB} MiB over loopback (median of ${ROUNDS}):`);
    line(`  plain TCP stream (reference)      ${s.toFixed(0)} ms  ${gbps(BIG_BYTES, s)} GB/s`);
    line(
      `  pull between two nodes            ${p.toFixed(0)} ms  ${gbps(BIG_BYTES, p)} GB/s  ${
        (s / p).toFixed(2)
      }x the stream`,
    );
    line(`  broadcast to 3 nodes (concurrent) ${b.toFixed(0)} ms  ${(b / p).toFixed(2)}x one pull`);
    const uploaded = uploads.map((bytes) => `${(bytes / MIB).toFixed(0)}`).join(" / ");
    line(`  uploaded during the last broadcast, MiB per node (source first): ${uploaded}`);
  } finally {
    await cluster.stop();
  }
}

async function smallObjects(): Promise<void> {
  const cluster = await startCluster(2, { memory: "256MiB" });
  try {
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await using writer = await PlasmaClient.connect(cluster.nodes[0].socketPath);
      const ids: ObjectId[] = [];
      for (let start = 0; start < SMALL_COUNT; start += 1000) {
        ids.push(...await writer.putBatch(Array.from({ length: 1000 }, () => ({ data: new Uint8Array(1024) }))));
      }
      await until(async () => (await holdersOf(cluster.redis.url, ids[ids.length - 1])).length === 1, 10_000);
      await using reader = await PlasmaClient.connect(cluster.nodes[1].socketPath);
      const started = performance.now();
      const got = await reader.get(ids, { timeoutMs: 120_000 });
      const elapsed = performance.now() - started;
      if (got.some((object) => object === null)) throw new Error("a small pull failed");
      for (const id of ids) await reader.release(id);
      await reader.delete(ids);
      await writer.delete(ids);
      rates.push(SMALL_COUNT / elapsed * 1000);
    }
    line(
      `${SMALL_COUNT} x 1 KiB pulled by one get of all ids: ${
        median(rates).toFixed(0)
      } objects/s (median of ${ROUNDS})`,
    );
  } finally {
    await cluster.stop();
  }
}

async function directoryCost(): Promise<void> {
  const redis = await RedisFixture.start();
  const directory = await RedisDirectory.connect(redis.url);
  try {
    await directory.join({ nodeId: "bench", address: `127.0.0.1:${freePort()}` });
    const objects = Array.from({ length: SMALL_COUNT }, () => ({
      objectIdHex: ObjectId.random().toHex(),
      dataSize: 1024,
      metadataSize: 0,
    }));
    let started = performance.now();
    await directory.publish(objects);
    const batchedUs = (performance.now() - started) * 1000 / SMALL_COUNT;
    started = performance.now();
    for (const object of objects.slice(0, 1000)) await directory.publish([object]);
    const singleUs = (performance.now() - started) * 1000 / 1000;
    line(
      `directory: publishing a sealed object costs ${
        batchedUs.toFixed(1)
      } us batched (2,000 per MULTI: 1 round trip per batch),`,
    );
    line(`  ${singleUs.toFixed(0)} us alone (1 MULTI of 3 commands = 1 round trip); Redis memory per location below`);
    const memory = new Deno.Command("redis-cli", { args: ["-p", String(redis.port), "info", "memory"] }).outputSync();
    const used = Number(/used_memory:(\d+)/.exec(new TextDecoder().decode(memory.stdout))?.[1] ?? NaN);
    line(
      `  Redis used_memory after ${SMALL_COUNT + 1000} locations: ${(used / MIB).toFixed(1)} MiB (~${
        (used / (SMALL_COUNT + 1000)).toFixed(0)
      } B per location incl. the stream)`,
    );
  } finally {
    await directory.leave();
    await redis.stop();
  }
}

/** Puts of 1 KiB objects (create+seal) from one client into a single store and a cluster store. */
async function clusterOverhead(): Promise<void> {
  const redis = await RedisFixture.start();
  const single = await spawnStore(["--memory", "256MiB"]);
  const clustered = await spawnStore([
    "--memory",
    "256MiB",
    "--cluster",
    redis.url,
    "--node-address",
    `127.0.0.1:${freePort()}`,
  ]);
  try {
    const rate = async (socketPath: string) => {
      await using client = await PlasmaClient.connect(socketPath);
      const payload = new Uint8Array(1024);
      const ids: ObjectId[] = [];
      const started = performance.now();
      for (let index = 0; index < 5_000; index++) ids.push(await client.put(payload));
      const elapsed = performance.now() - started;
      await client.delete(ids);
      return 5_000 / elapsed * 1000;
    };
    const singleRates: number[] = [];
    const clusterRates: number[] = [];
    for (let round = 0; round < ROUNDS + 2; round++) {
      singleRates.push(await rate(single.socketPath));
      clusterRates.push(await rate(clustered.socketPath));
    }
    const [s, c] = [median(singleRates), median(clusterRates)];
    line(
      `1 KiB puts (create+seal), one client: single node ${s.toFixed(0)}/s, --cluster ${c.toFixed(0)}/s: ${
        (c / s).toFixed(2)
      }x`,
    );
  } finally {
    await single.stop();
    await clustered.stop();
    await redis.stop();
  }
}

line(`cluster benchmarks, ${new Date().toISOString()}, load average at start: ${Deno.loadavg().join(" ")}`);
const only = Deno.args[Deno.args.indexOf("--only") + 1];
const sections: Record<string, () => Promise<void>> = {
  directory: directoryCost,
  overhead: clusterOverhead,
  small: smallObjects,
  big: bigTransfers,
};
for (const [name, run] of Object.entries(sections)) if (!Deno.args.includes("--only") || only === name) await run();
line(`load average at end: ${Deno.loadavg().join(" ")}`);
