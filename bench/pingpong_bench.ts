/**
 * Drives the round-trip benchmark: starts the native and the TypeScript server in a temp dir,
 * runs every client/server combination with 1 and 8 client processes (plus pipelined rows),
 * interleaved over several rounds, and prints medians with ratios to the native ceiling measured
 * in the same run. Then measures the TS server's CPU share and timer ticks under load and idle.
 * Invariant: every process it starts is killed by pid in a finally block, and the temp dir removed.
 * Usage: deno run -A bench/pingpong_bench.ts   (after `zig build` and `zig build bench`)
 * @module
 */
import { FrameConnection } from "../ffi/frame_connection.ts";
import { Status, statusName } from "../ffi/status.ts";
import { connectUnix } from "../ffi/unix_socket.ts";
import { median, printTable, type ResultRow } from "./_measure.ts";
import { Children, kill, LineReader, runTogether } from "./_processes.ts";
import { STATS_REQUEST_TYPE, STATS_SLOTS, TICK_INTERVAL_MS } from "./pingpong_server.ts";

type Side = "native" | "ts";

interface Config {
  name: string;
  client: Side;
  server: Side;
  clients: number;
  /** Requests per client process. */
  requests: number;
  depth: number;
}

const ROUNDS = 3;
const STARTUP_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = 60_000;
const BUSY_WARMUP_MS = 300;
const BUSY_WINDOW_MS = 1500;
const IDLE_WINDOW_MS = 2000;
const CLOCK_TICKS_PER_SECOND = 100;

const BENCH_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname);
const NATIVE_BINARY = `${BENCH_DIR}../zig-out/bench/pingpong_native`;
const DENO = Deno.execPath();

const CONFIGS: Config[] = [
  {
    name: "native client -> native server",
    client: "native",
    server: "native",
    clients: 1,
    requests: 40_000,
    depth: 1,
  },
  { name: "TS client -> TS server", client: "ts", server: "ts", clients: 1, requests: 40_000, depth: 1 },
  { name: "TS client -> native server", client: "ts", server: "native", clients: 1, requests: 40_000, depth: 1 },
  { name: "native client -> TS server", client: "native", server: "ts", clients: 1, requests: 40_000, depth: 1 },
  { name: "native client -> native server", client: "native", server: "native", clients: 8, requests: 6_000, depth: 1 },
  { name: "TS client -> TS server", client: "ts", server: "ts", clients: 8, requests: 6_000, depth: 1 },
  { name: "TS client -> native server", client: "ts", server: "native", clients: 8, requests: 6_000, depth: 1 },
  { name: "native client -> TS server", client: "native", server: "ts", clients: 8, requests: 6_000, depth: 1 },
  {
    name: "native client -> native server",
    client: "native",
    server: "native",
    clients: 1,
    requests: 640_000,
    depth: 16,
  },
  { name: "TS client -> TS server", client: "ts", server: "ts", clients: 1, requests: 160_000, depth: 16 },
  { name: "TS client -> native server", client: "ts", server: "native", clients: 1, requests: 160_000, depth: 16 },
];

/** Every child still running, so the finally block can kill what an error left behind. */
const children = new Children();

function spawn(command: string, args: string[], stdin: "piped" | "null"): Deno.ChildProcess {
  return children.spawn(command, args, stdin);
}

interface Server {
  child: Deno.ChildProcess;
  path: string;
}

async function startServer(side: Side, path: string): Promise<Server> {
  const child = side === "native"
    ? spawn(NATIVE_BINARY, ["server", path], "null")
    : spawn(DENO, ["run", "-A", `${BENCH_DIR}pingpong_server.ts`, path], "null");
  const line = await new LineReader(child.stdout).next(STARTUP_TIMEOUT_MS, `the ${side} server to listen`);
  if (!line.startsWith("listening")) throw new Error(`Unexpected first line from the ${side} server: ${line}`);
  return { child, path };
}

function clientArgs(side: Side, path: string, requests: number, depth: number): [string, string[]] {
  const extra = [String(requests), "--depth", String(depth), "--wait-go"];
  return side === "native"
    ? [NATIVE_BINARY, ["client", path, ...extra]]
    : [DENO, ["run", "-A", `${BENCH_DIR}pingpong_client.ts`, path, ...extra]];
}

/** Runs the clients together; returns the aggregate requests/s (see runTogether). */
function runClients(config: Config, server: Server): Promise<number> {
  const [command, args] = clientArgs(config.client, server.path, config.requests, config.depth);
  return runTogether(
    () => spawn(command, args, "piped"),
    config.clients,
    (fields) => fields.requests,
    `"${config.name}"`,
    {
      startupMs: STARTUP_TIMEOUT_MS,
      runMs: RUN_TIMEOUT_MS,
    },
  );
}

/** User + system CPU seconds of a process, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface ServerSample {
  atMs: number;
  cpuSeconds: number;
  ticks: number;
  blockingWaits: number;
  events: number;
  frames: number;
}

/** Samples a server's CPU time and (for the TS server) its loop counters over a silent connection. */
function sample(server: Server, stats: FrameConnection | null): ServerSample {
  let ticks = NaN;
  let blockingWaits = NaN;
  let events = NaN;
  let frames = NaN;
  if (stats !== null) {
    const written = stats.write(1n, STATS_REQUEST_TYPE, new Uint8Array(0), -1);
    const read = written === Status.ok ? stats.read(-1) : written;
    if (read !== Status.ok) throw new Error(`Stats request failed: ${statusName(read)}`);
    const values = new Float64Array(stats.payload().slice().buffer);
    ticks = values[STATS_SLOTS.ticks];
    blockingWaits = values[STATS_SLOTS.blockingWaits];
    events = values[STATS_SLOTS.events];
    frames = values[STATS_SLOTS.frames];
  }
  return { atMs: performance.now(), cpuSeconds: cpuSeconds(server.child.pid), ticks, blockingWaits, events, frames };
}

interface Usage {
  cpuShare: number;
  ticksPerSecond: number;
  blockingWaitsPerSecond: number;
  eventsPerSecond: number;
  framesPerSecond: number;
}

function usageBetween(first: ServerSample, second: ServerSample): Usage {
  const seconds = (second.atMs - first.atMs) / 1000;
  return {
    cpuShare: (second.cpuSeconds - first.cpuSeconds) / seconds,
    ticksPerSecond: (second.ticks - first.ticks) / seconds,
    blockingWaitsPerSecond: (second.blockingWaits - first.blockingWaits) / seconds,
    eventsPerSecond: (second.events - first.events) / seconds,
    framesPerSecond: (second.frames - first.frames) / seconds,
  };
}

/** The server's usage while one native client sends requests as fast as it can. */
async function usageUnderLoad(server: Server, stats: FrameConnection | null): Promise<Usage> {
  const [command, args] = clientArgs("native", server.path, 1_000_000_000, 1);
  const client = spawn(command, args, "piped");
  try {
    const line = await new LineReader(client.stdout).next(STARTUP_TIMEOUT_MS, "the load client to connect");
    if (line !== "ready") throw new Error(`Unexpected client line: ${line}`);
    const writer = client.stdin.getWriter();
    await writer.write(new TextEncoder().encode("g\n"));
    await sleep(BUSY_WARMUP_MS);
    const first = sample(server, stats);
    await sleep(BUSY_WINDOW_MS);
    return usageBetween(first, sample(server, stats));
  } finally {
    kill(client);
    await client.status;
  }
}

/** The server's usage with only the silent stats connection open. */
async function usageIdle(server: Server, stats: FrameConnection | null): Promise<Usage> {
  await sleep(200);
  const first = sample(server, stats);
  await sleep(IDLE_WINDOW_MS);
  return usageBetween(first, sample(server, stats));
}

function ratio(value: number, reference: number): string {
  return `${(value / reference).toFixed(2)}x`;
}

async function main(): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "plasma-pingpong-" });
  const servers: Server[] = [];
  try {
    const native = await startServer("native", `${dir}/native.sock`);
    servers.push(native);
    const ts = await startServer("ts", `${dir}/ts.sock`);
    servers.push(ts);
    const serverOf = (side: Side) => (side === "native" ? native : ts);

    // Interleaved rounds: a noisy moment hurts one sample of each row, not one whole row.
    const samples = CONFIGS.map(() => [] as number[]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [index, config] of CONFIGS.entries()) {
        samples[index].push(await runClients(config, serverOf(config.server)));
      }
    }
    const rates = samples.map(median);
    const rateOf = (client: Side, server: Side, clients: number, depth: number) =>
      rates[
        CONFIGS.findIndex((c) =>
          c.client === client && c.server === server && c.clients === clients && c.depth === depth
        )
      ];

    const rows: ResultRow[] = CONFIGS.map((config, index) => {
      const label = `${config.name}, ${config.clients} client${config.clients > 1 ? "s" : ""}` +
        (config.depth > 1 ? `, pipelined x${config.depth}` : "");
      const spread = `[${samples[index].map((rate) => Math.round(rate / 1000)).join(", ")}]k`;
      const ceiling = rateOf("native", "native", config.clients, config.depth);
      let note = `${ratio(rates[index], ceiling)} native ceiling  ${spread}`;
      if (config.depth > 1) {
        note += `  (${ratio(rates[index], rateOf(config.client, config.server, 1, 1))} its unpipelined rate)`;
      }
      return { label, value: rates[index], unit: "req/s", note };
    });
    printTable(
      `Unix socket round trips, 64-byte payloads (median of ${ROUNDS} interleaved rounds; [each round])`,
      rows,
    );

    using stats = FrameConnection.adopt(connectUnix(ts.path), { payloadBytesMax: 4096 });
    const tsBusy = await usageUnderLoad(ts, stats);
    const tsIdle = await usageIdle(ts, stats);
    const nativeBusy = await usageUnderLoad(native, null);
    const expectedTicks = 1000 / TICK_INTERVAL_MS;
    printTable(
      `Server CPU and timers (1 native client at full speed for ${BUSY_WINDOW_MS} ms; idle for ${IDLE_WINDOW_MS} ms)`,
      [
        { label: "TS server CPU under load", value: tsBusy.cpuShare * 100, unit: "% of a core", note: "" },
        {
          label: "native server CPU under load",
          value: nativeBusy.cpuShare * 100,
          unit: "% of a core",
          note: "reference",
        },
        {
          label: "TS server CPU idle (1 silent client)",
          value: tsIdle.cpuShare * 100,
          unit: "% of a core",
          note: "should be ~0",
        },
        {
          label: `TS server ${TICK_INTERVAL_MS} ms interval ticks under load`,
          value: tsBusy.ticksPerSecond,
          unit: "ticks/s",
          note: `expected ${expectedTicks}`,
        },
        {
          label: `TS server ${TICK_INTERVAL_MS} ms interval ticks idle`,
          value: tsIdle.ticksPerSecond,
          unit: "ticks/s",
          note: `expected ${expectedTicks}`,
        },
        {
          label: "TS server requests answered under load",
          value: tsBusy.framesPerSecond,
          unit: "req/s",
          note: `in ${Math.round(tsBusy.eventsPerSecond).toLocaleString("en-US")} readiness events/s`,
        },
        {
          label: "TS server blocking (awaited) waits under load",
          value: tsBusy.blockingWaitsPerSecond,
          unit: "/s",
          note: `${
            ratio(tsBusy.blockingWaitsPerSecond, tsBusy.eventsPerSecond)
          } the events: the spin ran out that often`,
        },
        { label: "TS server blocking waits idle", value: tsIdle.blockingWaitsPerSecond, unit: "/s", note: "" },
      ],
    );
  } finally {
    for (const server of servers) {
      kill(server.child);
      await server.child.status;
    }
    await children.killAll();
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
