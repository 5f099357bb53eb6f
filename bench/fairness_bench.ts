/**
 * Fair service: a well-behaved client's request latency (Stats round trips, one at a time) on an
 * idle store and while 1 or 4 other clients flood it, pipelining requests or never reading their
 * replies. Reports p50/p99 and the p99 as a ratio of the idle p99 measured in the same run.
 *   deno run -A bench/fairness_bench.ts [--requests 2000] [--hogs N] [--flooder-nice N]
 * --hogs starts N busy-looping processes for the whole run (a loaded machine); --flooder-nice
 * runs the flooders at that niceness, to tell the store's fairness from the OS scheduler's (the
 * flooders are processes competing with the store and the polite client for the same CPUs).
 * Each row also says what the machine did meanwhile: the share of CPU time the hypervisor stole
 * (/proc/stat) and how long the store's busiest thread waited for a CPU while runnable
 * (/proc/PID/task/TID/schedstat): latency the store's own scheduling cannot remove.
 */
import { parseArgs } from "node:util";
import { PlasmaClient } from "../src/client/mod.ts";
import { startFlooder } from "../tests/_flooder.ts";
import { ProbedStore } from "./reliability/_store_probe.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "2000" },
    hogs: { type: "string", default: "0" },
    "flooder-nice": { type: "string", default: "0" },
  },
});
const REQUESTS = Number(values.requests);
const FLOODER_NICE = Number(values["flooder-nice"]);
const hogs = Array.from(
  { length: Number(values.hogs) },
  () => new Deno.Command("sh", { args: ["-c", "while :; do :; done"], stdout: "null" }).spawn(),
);

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

/** CPU time counters of the whole machine, for the stolen share (field 8 of /proc/stat's "cpu" line). */
function machineTicks(): number[] {
  return Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
}

/** Per thread of `pid`: [ns on a CPU, ns runnable but waiting for one] (schedstat). */
function threadTimes(pid: number): Map<string, [number, number]> {
  const times = new Map<string, [number, number]>();
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ").map(Number);
      times.set(task.name, [run, wait]);
    } catch { /* the thread ended */ }
  }
  return times;
}

/** What the machine did during a row: stolen CPU share, and the store's busiest thread's CPU wait. */
interface RowConditions {
  stealPercent: number;
  storeWaitPercent: number;
}

/** Measures `row` and the conditions it ran in. */
async function underWatch<T>(storePid: number, row: () => Promise<T>): Promise<[T, RowConditions]> {
  const ticksBefore = machineTicks();
  const threadsBefore = threadTimes(storePid);
  const started = performance.now();
  const result = await row();
  const wallNs = (performance.now() - started) * 1e6;
  const ticks = machineTicks().map((value, index) => value - ticksBefore[index]);
  let busiest: [number, number] = [0, 0];
  for (const [thread, [run, wait]] of threadTimes(storePid)) {
    const [runBefore, waitBefore] = threadsBefore.get(thread) ?? [0, 0];
    if (run - runBefore > busiest[0]) busiest = [run - runBefore, wait - waitBefore];
  }
  const stealPercent = 100 * ticks[7] / ticks.reduce((sum, value) => sum + value, 0);
  return [result, { stealPercent, storeWaitPercent: 100 * busiest[1] / wallNs }];
}

async function latencies(client: PlasmaClient): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < REQUESTS; index++) {
    const started = performance.now();
    await client.stats();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

const store = await ProbedStore.start(["--memory", "64MiB"]);
const rows: [string, number, number, RowConditions][] = [];
try {
  await using client = await PlasmaClient.connect(store.socketPath);
  await latencies(client); // warm-up
  const [idle, idleConditions] = await underWatch(store.pid, () => latencies(client));
  rows.push(["idle store", percentile(idle, 0.5), percentile(idle, 0.99), idleConditions]);
  for (const [mode, count] of [["read", 1], ["read", 4], ["noread", 1], ["noread", 4]] as const) {
    const flooders: Deno.ChildProcess[] = [];
    try {
      for (let index = 0; index < count; index++) {
        flooders.push((await startFlooder(store.socketPath, mode, 1_000_000_000, "null", FLOODER_NICE)).child);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const [busy, conditions] = await underWatch(store.pid, () => latencies(client));
      const what = mode === "read" ? "pipelining" : "not reading";
      const name = `${count} client${count > 1 ? "s" : ""} ${what}`;
      rows.push([name, percentile(busy, 0.5), percentile(busy, 0.99), conditions]);
    } finally {
      for (const flooder of flooders) flooder.kill("SIGKILL");
      for (const flooder of flooders) await flooder.status;
    }
  }
} finally {
  await store.stop();
  for (const hog of hogs) hog.kill("SIGKILL");
  for (const hog of hogs) await hog.status;
}
const idleP99 = rows[0][2];
console.log(
  `A well-behaved client's Stats round trip, ${REQUESTS} requests per row (ms), ${hogs.length} CPU hogs, ` +
    `flooders at nice ${FLOODER_NICE}:`,
);
for (const [name, p50, p99, { stealPercent, storeWaitPercent }] of rows) {
  console.log(
    `  ${name.padEnd(24)} p50 ${p50.toFixed(3).padStart(7)}  p99 ${p99.toFixed(3).padStart(7)}  p99 = ${
      (p99 / idleP99).toFixed(1).padStart(4)
    }x idle   steal ${stealPercent.toFixed(0).padStart(2)}%, store thread waited for a CPU ${
      storeWaitPercent.toFixed(0).padStart(2)
    }% of the time`,
  );
}
