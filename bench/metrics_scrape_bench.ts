/**
 * What a metrics scrape costs: the latency of one `/metrics` scrape (HTTP plus one Stats request
 * over the store's socket plus formatting) beside a bare Stats request and a Worker message round
 * trip (the other way the endpoint could reach the store), and how much a client's get+release
 * rate drops while the endpoint is scraped at 10 Hz and back-to-back, against no scraping in the
 * same run (conditions interleaved, medians of rounds).
 * Invariant: the store process and every load process are stopped by pid, the temp dir removed.
 * Usage: deno run -A bench/metrics_scrape_bench.ts   (after `zig build`)
 * @module
 */
import { median, printTable } from "./_measure.ts";
import { PlasmaClient } from "../src/client/mod.ts";
import { readUntil } from "../tests/_store_fixture.ts";

const ROUNDS = 5;
const LOAD_MS = 1500;
const LATENCY_SAMPLES = 400;
const SCRAPE_10HZ_MS = 100;
const BENCH_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname);
const ROOT_DIR = `${BENCH_DIR}..`;
const DENO_RUN = ["run", "-A", "--config", `${ROOT_DIR}/deno.json`];

type Condition = "none" | "10 Hz" | "back-to-back";

async function startStore(
  directory: string,
): Promise<{ child: Deno.ChildProcess; origin: string; socketPath: string }> {
  const socketPath = `${directory}/store.sock`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...DENO_RUN,
      `${ROOT_DIR}/store.ts`,
      "--socket",
      socketPath,
      "--memory",
      "256MiB",
      "--metrics-address",
      "127.0.0.1:0",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const output = await readUntil(reader, "listening on");
  if (output === null) throw new Error("store exited before listening");
  reader.releaseLock();
  void child.stdout.cancel().catch(() => {});
  return { child, socketPath, origin: /metrics on (http:\/\/[^/]+)\//.exec(output)![1] };
}

async function scrape(origin: string): Promise<void> {
  const response = await fetch(`${origin}/metrics`);
  if (!response.ok) throw new Error(`scrape failed: ${response.status}`);
  await response.text();
}

/** Runs the load process for LOAD_MS while scraping under `condition`; returns its ops per second. */
async function loadRun(
  socketPath: string,
  origin: string,
  condition: Condition,
): Promise<{ opsPerSecond: number; scrapes: number }> {
  const load = new Deno.Command(Deno.execPath(), {
    args: [...DENO_RUN, `${BENCH_DIR}metrics_scrape_load.ts`, socketPath, String(LOAD_MS)],
    stdout: "piped",
  }).spawn();
  let scraping = condition !== "none";
  let scrapes = 0;
  const scraper = (async () => {
    // Let the load client connect and warm up before the scrapes start.
    await new Promise((resolve) => setTimeout(resolve, 300));
    while (scraping) {
      await scrape(origin);
      scrapes++;
      if (condition === "10 Hz") await new Promise((resolve) => setTimeout(resolve, SCRAPE_10HZ_MS));
    }
  })();
  const output = new TextDecoder().decode((await load.output()).stdout);
  scraping = false;
  await scraper;
  const ops = Number(/ops=(\d+)/.exec(output)?.[1]);
  return { opsPerSecond: (ops * 1000) / LOAD_MS, scrapes };
}

async function workerRoundTripUs(): Promise<number> {
  const source = `self.onmessage = (event) => self.postMessage(event.data);`;
  const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { type: "module" });
  const samples: number[] = [];
  for (let index = 0; index < LATENCY_SAMPLES; index++) {
    const started = performance.now();
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage(index);
    });
    samples.push((performance.now() - started) * 1000);
  }
  worker.terminate();
  return median(samples.slice(50));
}

/** CPU time (user + system) the process `pid` has used, in microseconds, from /proc. */
async function cpuUs(pid: number): Promise<number> {
  const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function latencies(origin: string, socketPath: string, storePid: number) {
  const scrapeUs: number[] = [];
  const cpuBefore = await cpuUs(storePid);
  for (let index = 0; index < LATENCY_SAMPLES; index++) {
    const started = performance.now();
    await scrape(origin);
    scrapeUs.push((performance.now() - started) * 1000);
  }
  const storeCpuUsPerScrape = (await cpuUs(storePid) - cpuBefore) / LATENCY_SAMPLES;
  await using client = await PlasmaClient.connect(socketPath);
  const statsUs: number[] = [];
  for (let index = 0; index < LATENCY_SAMPLES; index++) {
    const started = performance.now();
    await client.stats();
    statsUs.push((performance.now() - started) * 1000);
  }
  const sorted = scrapeUs.slice(50).sort((a, b) => a - b);
  return {
    scrapeMedianUs: median(sorted),
    scrapeP99Us: sorted[Math.floor(sorted.length * 0.99)],
    statsMedianUs: median(statsUs.slice(50)),
    workerUs: await workerRoundTripUs(),
    storeCpuUsPerScrape,
  };
}

const directory = await Deno.makeTempDir({ prefix: "plasma-scrape-bench-" });
const store = await startStore(directory);
try {
  console.log(
    `metrics scrape benchmark, load average ${
      (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ")
    }`,
  );
  const latency = await latencies(store.origin, store.socketPath, store.child.pid);
  printTable("Latency (idle store, medians after warm-up)", [
    {
      label: "one /metrics scrape (HTTP + Stats + text)",
      value: latency.scrapeMedianUs,
      unit: "us",
      note: `p99 ${Math.round(latency.scrapeP99Us)} us`,
    },
    {
      label: "store process CPU per scrape (both threads)",
      value: latency.storeCpuUsPerScrape,
      unit: "us",
      note: `over ${LATENCY_SAMPLES} scrapes`,
    },
    { label: "one Stats request over the socket", value: latency.statsMedianUs, unit: "us" },
    { label: "Worker postMessage round trip (alternative)", value: latency.workerUs, unit: "us" },
  ]);
  const results: Record<Condition, number[]> = { "none": [], "10 Hz": [], "back-to-back": [] };
  const scrapeCounts: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Progress on a terminal only; piped output stays the tables alone.
    if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode(`\rround ${round + 1} of ${ROUNDS}`));
    for (const condition of ["none", "10 Hz", "back-to-back"] as Condition[]) {
      const run = await loadRun(store.socketPath, store.origin, condition);
      results[condition].push(run.opsPerSecond);
      if (condition === "back-to-back") scrapeCounts.push((run.scrapes * 1000) / (LOAD_MS - 300));
    }
  }
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
  const reference = median(results.none);
  printTable(`One client's get+release rate while scraping (${ROUNDS} interleaved rounds, medians)`, [
    { label: "no scraping (reference)", value: reference, unit: "ops/s", note: "1.00" },
    {
      label: "scraped at 10 Hz",
      value: median(results["10 Hz"]),
      unit: "ops/s",
      note: (median(results["10 Hz"]) / reference).toFixed(2),
    },
    {
      label: "scraped back-to-back",
      value: median(results["back-to-back"]),
      unit: "ops/s",
      note: `${(median(results["back-to-back"]) / reference).toFixed(2)} at ~${
        Math.round(median(scrapeCounts))
      } scrapes/s`,
    },
  ]);
} finally {
  store.child.kill("SIGTERM");
  await store.child.status;
  await Deno.remove(directory, { recursive: true }).catch(() => {});
}
