/**
 * Store memory per object and get latency against the number of resident objects (issue 12): a
 * fresh store (`bin/plasma-store-server`, as pyarrow starts it) is filled with 64-byte objects by
 * our TypeScript client (putBatch); the store process's RSS growth per object is read from
 * /proc/PID/status at 100k and 1M objects, and get+release latency of resident objects at 1k and 1M.
 * Invariant: the store is stopped by pid in a finally block, and its temp dir removed.
 * Usage: deno run -A bench/object_memory_bench.ts [--rounds N] [--objects 100000,1000000]
 *          [--compare OTHER_CHECKOUT]   (alternates rounds with OTHER_CHECKOUT/bin/plasma-store-server)
 * @module
 */
import { parseArgs } from "node:util";
import { type ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { median } from "./_measure.ts";
import { Children, kill, LineReader } from "./_processes.ts";

const ROOT_DIR = decodeURIComponent(new URL("..", import.meta.url).pathname);
const OBJECT_BYTES = 64;
/** Objects created per CreateAndSeal request. */
const BATCH_OBJECTS = 1_000;
/** Resident objects for the small-store latency reference. */
const FEW_OBJECTS = 1_000;
const LATENCY_OPS = 5_000;
/** Room for 1M 64-byte objects and then some. */
const CAPACITY_BYTES = 512 * 1024 * 1024;
/** Wait before reading RSS, as the Arrow side-by-side memory row does. */
const SETTLE_MS = 500;
const STARTUP_TIMEOUT_MS = 60_000;

const children = new Children();

interface Rss {
  totalBytes: number;
  anonBytes: number;
}

function readRss(pid: number): Rss {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)![1]) * 1024;
  return { totalBytes: kib("VmRSS"), anonBytes: kib("RssAnon") };
}

async function startStore(root: string, socket: string): Promise<Deno.ChildProcess> {
  const child = children.spawn(
    `${root}/bin/plasma-store-server`,
    ["-m", String(CAPACITY_BYTES), "-s", socket],
    "null",
  );
  const line = await new LineReader(child.stdout).next(STARTUP_TIMEOUT_MS, "the store to listen");
  if (!line.includes("listening")) throw new Error(`Unexpected first line from the store: ${line}`);
  return child;
}

async function fill(client: PlasmaClient, ids: ObjectId[], count: number): Promise<void> {
  const data = new Uint8Array(OBJECT_BYTES).fill(7);
  while (ids.length < count) {
    const items = Array.from({ length: Math.min(BATCH_OBJECTS, count - ids.length) }, () => ({ data }));
    ids.push(...await client.putBatch(items));
  }
}

/** Median and 90th percentile of one get+release of a random resident object, in microseconds. */
async function getLatencyUs(client: PlasmaClient, ids: ObjectId[]): Promise<{ medianUs: number; p90Us: number }> {
  const times: number[] = [];
  let state = 12_345;
  for (let op = 0; op < LATENCY_OPS; op++) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const id = ids[state % ids.length];
    const start = performance.now();
    const [object] = await client.get([id], { timeoutMs: 0 });
    if (object === null) throw new Error(`resident object ${id} not found`);
    await client.release(id);
    times.push((performance.now() - start) * 1000);
  }
  times.sort((a, b) => a - b);
  return { medianUs: median(times), p90Us: times[Math.floor(times.length * 0.9)] };
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** One fresh store: latency at FEW_OBJECTS, RSS per object at each count, latency at the largest. */
async function round(root: string, counts: number[]): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "plasma_memory_bench_" });
  const store = await startStore(root, `${dir}/store.sock`);
  try {
    await using client = await PlasmaClient.connect(`${dir}/store.sock`);
    await sleep(200);
    const before = readRss(store.pid);
    const ids: ObjectId[] = [];
    await fill(client, ids, FEW_OBJECTS);
    const results: Record<string, number> = {};
    await getLatencyUs(client, ids); // untimed: the JIT warms up on the same loop first
    const few = await getLatencyUs(client, ids);
    results[`get+release at ${FEW_OBJECTS / 1000}k resident, median us`] = few.medianUs;
    results[`get+release at ${FEW_OBJECTS / 1000}k resident, p90 us`] = few.p90Us;
    for (const count of counts) {
      await fill(client, ids, count);
      await sleep(SETTLE_MS);
      const after = readRss(store.pid);
      results[`RSS per object at ${count / 1000}k (bytes)`] = (after.totalBytes - before.totalBytes) / count;
      results[`  of which private at ${count / 1000}k (bytes)`] = (after.anonBytes - before.anonBytes) / count;
    }
    await getLatencyUs(client, ids); // untimed, as at FEW_OBJECTS: the same procedure for both counts
    const many = await getLatencyUs(client, ids);
    const last = counts.at(-1)! / 1000;
    results[`get+release at ${last}k resident, median us`] = many.medianUs;
    results[`get+release at ${last}k resident, p90 us`] = many.p90Us;
    results[`latency ratio ${last}k / ${FEW_OBJECTS / 1000}k (median)`] = many.medianUs / few.medianUs;
    return results;
  } finally {
    kill(store, "SIGTERM");
    await store.status;
    await Deno.remove(dir, { recursive: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "3" },
      objects: { type: "string", default: "100000,1000000" },
      compare: { type: "string" },
    },
  });
  const counts = values.objects.split(",").map(Number).sort((a, b) => a - b);
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(`object memory bench, ${new Date().toISOString()}; load average ${load}; ${OBJECT_BYTES}-byte objects`);
  const stores: Record<string, string> = { this: ROOT_DIR.replace(/\/$/, "") };
  if (values.compare) stores.other = values.compare;
  const rounds: Record<string, Record<string, number>[]> = { this: [], other: [] };
  for (let index = 0; index < Number(values.rounds); index++) {
    const order = index % 2 === 0 ? Object.keys(stores) : Object.keys(stores).reverse();
    for (const name of order) rounds[name].push(await round(stores[name], counts));
  }
  const names = Object.keys(stores);
  console.log(`${"row".padEnd(48)}${names.map((name) => `median ${name}`.padStart(14)).join("")}  rounds`);
  for (const row of Object.keys(rounds.this[0])) {
    const medians = names.map((name) => median(rounds[name].map((result) => result[row])));
    const each = names.map((name) => rounds[name].map((result) => result[row].toFixed(1)).join(" "));
    console.log(
      `${row.padEnd(48)}${medians.map((value) => value.toFixed(1).padStart(14)).join("")}  ${each.join(" | ")}`,
    );
  }
}

try {
  await main();
} finally {
  await children.killAll();
}
