/**
 * Broadcast on emulated per-node NICs (issue 10's premise): 4 stores, each in its own network
 * namespace with its own tc-limited link to a bridge, a Redis on the bridge. In each round, same
 * links: a plain TCP stream node 1 -> node 2 (reference), then for each relay mode (alternating
 * order) one pull and a broadcast to 3 nodes, every copy's SHA-256 checked. Medians of the rounds.
 * Invariant: every namespace, link, process and temp dir is removed in a finally (and on Ctrl-C).
 * Usage (root): deno run -A bench/cluster_netns_bench.ts [--quick] [--rate 2gbit] [--rounds N] [--size-mib N]
 * @module
 */
import { parseArgs } from "node:util";
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { digest, holdersOf } from "../tests/_cluster_fixture.ts";
import { freePort } from "../tests/_redis_fixture.ts";
import { REPO } from "../tests/_store_fixture.ts";
import { median } from "./_measure.ts";
import { LabRefusedError, NetnsLab } from "./_netns_lab.ts";
import { Children, LineReader } from "./_processes.ts";

const MIB = 1024 * 1024;
const NODES = 4;
/** Where each node's object manager listens inside its own namespace (each has its own ports). */
const NODE_PORT = 7000;
const STREAM_PORT = 9000;
const STARTUP_MS = 60_000;
const TRANSFER_TIMEOUT_MS = 300_000;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    rate: { type: "string", default: "2gbit" },
    rounds: { type: "string" },
    "size-mib": { type: "string" },
  },
});
const BYTES = Number(flags["size-mib"] ?? (flags.quick ? 256 : 1024)) * MIB;
const ROUNDS = Number(flags.rounds ?? (flags.quick ? 1 : 3));
const line = (text: string) => console.log(text);
const gbps = (bytes: number, ms: number) => (bytes / ms / 1e6).toFixed(2);

type Mode = "relay" | "no relay";
interface ModeRound {
  pullMs: number;
  broadcastMs: number;
  uploadedMiB: number[];
  cpuBusy: number;
  /** CPUs' worth of time the 4 stores used over the broadcast. */
  storeCpus: number;
}

/** Busy share of all CPUs between two /proc/stat samples (1 = every CPU saturated). */
function cpuTimes(): { busy: number; total: number } {
  const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3] - fields[4], total };
}
const busyShare = (from: ReturnType<typeof cpuTimes>, to: ReturnType<typeof cpuTimes>) =>
  (to.busy - from.busy) / (to.total - from.total);

/** CPU time (user + system, clock ticks) the store processes have used, all their threads. */
function storeTicks(stores: LabStore[]): number {
  return stores.reduce((sum, { child }) => {
    const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return sum + Number(fields[11]) + Number(fields[12]); // utime and stime (fields 14 and 15)
  }, 0);
}
/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on Linux x86-64). */
const TICKS_PER_SECOND = 100;

/** A Redis on the bridge address of the root namespace. */
async function startRedis(children: Children, lab: NetnsLab): Promise<string> {
  const port = freePort();
  const args = ["--port", String(port), "--bind", lab.hostAddress, "--save", "", "--appendonly", "no"];
  children.spawn("redis-server", [...args, "--protected-mode", "no"], "null");
  const deadline = performance.now() + 5_000;
  while (performance.now() < deadline) {
    try {
      (await Deno.connect({ hostname: lab.hostAddress, port })).close();
      return `redis://${lab.hostAddress}:${port}`;
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server did not start on ${lab.hostAddress}:${port}`);
}

interface LabStore {
  socketPath: string;
  child: Deno.ChildProcess;
}

/** Starts a store in each namespace (PLASMA_RELAY=off for "no relay") and waits for each to listen. */
async function startStores(children: Children, lab: NetnsLab, redisUrl: string, mode: Mode, tempDir: string) {
  const stores: LabStore[] = [];
  const run = crypto.randomUUID().slice(0, 8);
  for (const [index, node] of lab.nodes.entries()) {
    const socketPath = `${tempDir}/${run}-node${index + 1}.sock`;
    const [command, ...prefix] = lab.exec(index);
    // `env` sets the bench knob inside the namespace (ip netns exec and env both exec: one pid).
    const child = children.spawn(command, [
      ...[...prefix, "env", `PLASMA_RELAY=${mode === "relay" ? "on" : "off"}`],
      ...[Deno.execPath(), "run", "-A", `${REPO}store.ts`, "--socket", socketPath, "--populate"],
      ...["--memory", `${Math.ceil(BYTES / MIB) + 64}MiB`, "--cluster", redisUrl],
      ...["--node-address", `${node.address}:${NODE_PORT}`, "--node-id", `${run}-node${index + 1}`],
    ], "null");
    stores.push({ socketPath, child });
    const output = new LineReader(child.stdout);
    while (!(await output.next(STARTUP_MS, `store ${index + 1} to listen`)).includes("listening on"));
    drain(output); // its log must not fill the pipe and block the store
  }
  return stores;
}

/** Reads and drops a child's remaining output until it ends. */
function drain(output: LineReader): void {
  (async () => {
    for (;;) await output.next(2 ** 30, "log lines");
  })().catch(() => {/* the output ended */});
}

async function stopStores(stores: LabStore[]): Promise<void> {
  for (const { child } of stores) {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
  }
  await Promise.all(stores.map(({ child }) => child.status));
}

/** A plain TCP stream of `BYTES` from node 1's namespace to node 2's, into a touched buffer. @returns ms */
async function plainStream(children: Children, lab: NetnsLab): Promise<number> {
  const receiverCode = `const l = Deno.listen({ hostname: "${lab.nodes[1].address}", port: ${STREAM_PORT} });
    console.log("listening"); const c = await l.accept(); const b = new Uint8Array(${BYTES}).fill(1);
    let n = 0, t = 0; while (n < b.length) { const r = await c.read(b.subarray(n)); if (r === null) break; if (!t) t = performance.now(); n += r; }
    console.log(n === b.length ? "ms=" + (performance.now() - t) : "short=" + n);`;
  const senderCode = `const b = new Uint8Array(${BYTES}).fill(2);
    const c = await Deno.connect({ hostname: "${lab.nodes[1].address}", port: ${STREAM_PORT} });
    for (let o = 0; o < b.length; o += ${4 * MIB}) { let s = b.subarray(o, Math.min(o + ${
    4 * MIB
  }, b.length)); while (s.length) s = s.subarray(await c.write(s)); }
    c.close();`;
  const [command1, ...prefix1] = lab.exec(1);
  const receiver = children.spawn(command1, [...prefix1, Deno.execPath(), "eval", receiverCode], "null");
  const output = new LineReader(receiver.stdout);
  await output.next(STARTUP_MS, "the stream receiver");
  const [command0, ...prefix0] = lab.exec(0);
  const sender = children.spawn(command0, [...prefix0, Deno.execPath(), "eval", senderCode], "null");
  const result = await output.next(TRANSFER_TIMEOUT_MS, "the stream's end");
  await Promise.all([sender.status, receiver.status]);
  if (!result.startsWith("ms=")) throw new Error(`the plain stream failed: ${result}`);
  return Number(result.slice(3));
}

/** Puts a `BYTES` object of varied bytes on node 1; @returns its id and SHA-256 */
async function putBig(stores: LabStore[], redisUrl: string): Promise<{ id: ObjectId; sha: string }> {
  await using writer = await PlasmaClient.connect(stores[0].socketPath);
  const id = ObjectId.random();
  const buffer = await writer.create(id, BYTES);
  const pattern = crypto.getRandomValues(new Uint8Array(64 * 1024));
  for (let offset = 0; offset < BYTES; offset += pattern.length) buffer.set(pattern, offset);
  buffer.set(crypto.getRandomValues(new Uint8Array(4096))); // no two runs' objects alike
  const sha = await digest(buffer);
  await writer.seal(id);
  const deadline = performance.now() + 10_000;
  while ((await holdersOf(redisUrl, id)).length !== 1) {
    if (performance.now() > deadline) throw new Error("the object was not published");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { id, sha };
}

async function bytesPushed(stores: LabStore[]): Promise<number[]> {
  await new Promise((resolve) => setTimeout(resolve, 250)); // counters are reported every ~100 ms
  return await Promise.all(stores.map(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    return (await client.stats()).numBytesPushed;
  }));
}

/** Gets the object on the given nodes at once, checks each copy's SHA-256, deletes the copies. @returns ms */
async function pullOn(stores: LabStore[], nodes: number[], object: { id: ObjectId; sha: string }): Promise<number> {
  const clients = await Promise.all(nodes.map((index) => PlasmaClient.connect(stores[index].socketPath)));
  try {
    // A client maps (and populates) the store's memory on the first reply naming it: before timing.
    for (const client of clients) await client.delete([await client.put(new Uint8Array(1))]);
    const started = performance.now();
    const got = await Promise.all(clients.map((client) => client.get([object.id], { timeoutMs: TRANSFER_TIMEOUT_MS })));
    const elapsed = performance.now() - started;
    for (const [index, client] of clients.entries()) {
      const copy = got[index][0];
      if (copy === null) throw new Error(`the pull on node ${nodes[index] + 1} failed`);
      const sha = await digest(copy.data);
      if (sha !== object.sha) throw new Error(`node ${nodes[index] + 1} got different bytes (${sha} != ${object.sha})`);
      await client.release(object.id);
      await client.delete([object.id]);
    }
    return elapsed;
  } finally {
    for (const client of clients) client.close();
  }
}

/** One cluster in `mode`: a pull to node 2, then a broadcast to nodes 2-4. */
async function measureMode(children: Children, lab: NetnsLab, redisUrl: string, mode: Mode, tempDir: string) {
  const stores = await startStores(children, lab, redisUrl, mode, tempDir);
  try {
    const object = await putBig(stores, redisUrl);
    const pullMs = await pullOn(stores, [1], object);
    const before = await bytesPushed(stores);
    const [cpuBefore, ticksBefore] = [cpuTimes(), storeTicks(stores)];
    const broadcastMs = await pullOn(stores, [1, 2, 3], object);
    const [cpuBusy, ticks] = [busyShare(cpuBefore, cpuTimes()), storeTicks(stores) - ticksBefore];
    // Includes the digests checked after the gets: an upper bound on the stores' CPU during the transfer.
    const storeCpus = ticks / TICKS_PER_SECOND / (broadcastMs / 1000);
    const uploadedMiB = (await bytesPushed(stores)).map((after, index) => (after - before[index]) / MIB);
    return { pullMs, broadcastMs, uploadedMiB, cpuBusy, storeCpus } satisfies ModeRound;
  } finally {
    await stopStores(stores);
  }
}

function report(streams: number[], results: Record<Mode, ModeRound[]>): void {
  const stream = median(streams);
  line(`${BYTES / MIB} MiB, each node's link at ${flags.rate} each way (median of ${ROUNDS}; machine shared):`);
  line(`  plain TCP stream node 1 -> node 2 (reference)  ${stream.toFixed(0)} ms  ${gbps(BYTES, stream)} GB/s`);
  for (const mode of ["relay", "no relay"] as const) {
    const rounds = results[mode];
    const pull = median(rounds.map((round) => round.pullMs));
    const broadcast = median(rounds.map((round) => round.broadcastMs));
    const ratios = rounds.map((round) => (round.broadcastMs / round.pullMs).toFixed(2)).join(", ");
    line(`  ${mode}:`);
    line(
      `    one pull                ${pull.toFixed(0)} ms  ${gbps(BYTES, pull)} GB/s  ${
        (stream / pull).toFixed(2)
      }x the stream`,
    );
    line(
      `    broadcast to 3 nodes    ${broadcast.toFixed(0)} ms  ${
        (broadcast / pull).toFixed(2)
      }x one pull (per round: ${ratios})`,
    );
    const uploaded = rounds.at(-1)!.uploadedMiB.map((mib) => mib.toFixed(0)).join(" / ");
    line(`    uploaded in the last broadcast, MiB per node (source first): ${uploaded}`);
    const busy = rounds.map((round) => `${(round.cpuBusy * 100).toFixed(0)}%`).join(", ");
    const stores = rounds.map((round) => round.storeCpus.toFixed(2)).join(", ");
    line(`    CPU during the broadcast: whole machine busy ${busy}; the 4 stores used ${stores} CPUs`);
  }
}

async function main(): Promise<void> {
  line(`cluster_netns_bench, ${new Date().toISOString()}, load average at start: ${Deno.loadavg().join(" ")}`);
  const lab = NetnsLab.create({ nodes: NODES, rate: flags.rate! });
  const children = new Children();
  const tempDir = await Deno.makeTempDir({ prefix: "plasma-netns-bench-" });
  const cleanUp = async () => {
    await children.killAll();
    lab.destroy();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  };
  const onSignal = () => cleanUp().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const redisUrl = await startRedis(children, lab);
    const streams: number[] = [];
    const results: Record<Mode, ModeRound[]> = { "relay": [], "no relay": [] };
    for (let round = 0; round < ROUNDS; round++) {
      streams.push(await plainStream(children, lab));
      const order: Mode[] = round % 2 === 0 ? ["relay", "no relay"] : ["no relay", "relay"];
      for (const mode of order) {
        const result = await measureMode(children, lab, redisUrl, mode, tempDir);
        results[mode].push(result);
        line(
          `  round ${round + 1} ${mode}: stream ${streams.at(-1)!.toFixed(0)} ms, pull ${
            result.pullMs.toFixed(0)
          } ms, ` +
            `broadcast ${result.broadcastMs.toFixed(0)} ms, machine CPU ${(result.cpuBusy * 100).toFixed(0)}%, ` +
            `stores ${result.storeCpus.toFixed(2)} CPUs`,
        );
      }
    }
    report(streams, results);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await cleanUp();
  }
  line(`load average at end: ${Deno.loadavg().join(" ")}`);
}

try {
  await main();
} catch (error) {
  if (!(error instanceof LabRefusedError)) throw error;
  console.error(`cluster_netns_bench: ${error.message}`);
  Deno.exit(1);
}
