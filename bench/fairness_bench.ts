/**
 * Fair service: a well-behaved client's request latency (Stats round trips, one at a time) on an
 * idle store and while 1 or 4 other clients flood it, pipelining requests or never reading their
 * replies. Reports p50/p99 and the p99 as a ratio of the idle p99 measured in the same run.
 *   deno run -A bench/fairness_bench.ts [--requests 2000] [--hogs N] [--flooder-nice N]
 * --hogs starts N busy-looping processes for the whole run (a loaded machine); --flooder-nice
 * runs the flooders at that niceness, to tell the store's fairness from the OS scheduler's (the
 * flooders are processes competing with the store and the polite client for the same CPUs).
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
const rows: [string, number, number][] = [];
try {
  await using client = await PlasmaClient.connect(store.socketPath);
  await latencies(client); // warm-up
  const idle = await latencies(client);
  rows.push(["idle store", percentile(idle, 0.5), percentile(idle, 0.99)]);
  for (const [mode, count] of [["read", 1], ["read", 4], ["noread", 1], ["noread", 4]] as const) {
    const flooders: Deno.ChildProcess[] = [];
    try {
      for (let index = 0; index < count; index++) {
        flooders.push((await startFlooder(store.socketPath, mode, 1_000_000_000, "null", FLOODER_NICE)).child);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const busy = await latencies(client);
      const what = mode === "read" ? "pipelining" : "not reading";
      rows.push([`${count} client${count > 1 ? "s" : ""} ${what}`, percentile(busy, 0.5), percentile(busy, 0.99)]);
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
for (const [name, p50, p99] of rows) {
  console.log(
    `  ${name.padEnd(24)} p50 ${p50.toFixed(3).padStart(7)}  p99 ${p99.toFixed(3).padStart(7)}  p99 = ${
      (p99 / idleP99).toFixed(1)
    }x idle`,
  );
}
