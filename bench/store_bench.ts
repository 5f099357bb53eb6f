/**
 * Drives the store benchmark: starts the store (`store.ts`, pre-faulted with --populate) and the
 * native ping-pong server in a temp dir, runs bench/store_bench_client.ts with 1 and 8 client
 * processes (create+seal, get+release, putBatch and multi-id get of 1 KiB objects) interleaved
 * with the native round-trip ceiling, then puts and gets 64 MiB and 1 GiB objects beside a plain
 * memcpy in the same client process. Every row is a ratio to a reference measured in this run.
 * Invariant: every process it starts is stopped by pid in a finally block, and the temp dir removed.
 * Usage: deno run -A bench/store_bench.ts   (after `zig build` and `zig build bench`)
 * @module
 */
import { median, printTable, processCpuMs, type ResultRow } from "./_measure.ts";
import { Children, kill, LineReader, parseKeyValues, runTogetherDetailed } from "./_processes.ts";

const ROUNDS = 3;
const MIB = 1024 * 1024;
/** Store for the small objects and the 64 MiB row: the runs delete what they create. */
const SMALL_STORE_BYTES = 512 * MIB;
/** Store for the 1 GiB row only: the object plus room the allocator and a warm-up object need. */
const LARGE_STORE_BYTES = 1536 * MIB;
/** /dev/shm space left over beyond a store's size before we start it. */
const SHM_MARGIN_BYTES = 256 * MIB;
/** Timed span of each small-object client run. */
const SMALL_RUN_MS = 800;
/** All clients of one run together create at most this many 1 KiB objects (bounds store use). */
const SMALL_OBJECTS_PER_RUN_MAX = 240_000;
const BATCH_OBJECTS = 64;
const LARGE_ROUNDS_64MIB = 7;
const LARGE_ROUNDS_1GIB = 5;
const STARTUP_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;

const BENCH_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname);
const ROOT_DIR = `${BENCH_DIR}..`;
const NATIVE_BINARY = `${ROOT_DIR}/zig-out/bench/pingpong_native`;
const DENO = Deno.execPath();
const DENO_RUN = ["run", "-A", "--config", `${ROOT_DIR}/deno.json`];

type Workload = "ceiling" | "create" | "get" | "put-batch" | "get-batch";

interface SmallConfig {
  workload: Workload;
  clients: number;
}

const SMALL_CONFIGS: SmallConfig[] = [1, 8].flatMap((clients) =>
  (["ceiling", "create", "get", "put-batch", "get-batch"] as const).map((workload) => ({ workload, clients }))
);

/** Requests per native ping-pong client: about a second at the rates of bench/README.md. */
const CEILING_REQUESTS = { 1: 20_000, 8: 4_000 } as Record<number, number>;

const children = new Children();

interface Server {
  child: Deno.ChildProcess;
  path: string;
}

async function startNativeServer(path: string): Promise<Server> {
  const child = children.spawn(NATIVE_BINARY, ["server", path], "null");
  const line = await new LineReader(child.stdout).next(STARTUP_TIMEOUT_MS, "the native server to listen");
  if (!line.startsWith("listening")) throw new Error(`Unexpected first line from the native server: ${line}`);
  return { child, path };
}

async function startStore(path: string, memoryBytes: number): Promise<Server> {
  const args = [...DENO_RUN, `${ROOT_DIR}/store.ts`, "--socket", path, "--memory", `${memoryBytes / MIB}MiB`];
  const child = children.spawn(DENO, [...args, "--populate"], "null");
  const line = await new LineReader(child.stdout).next(STARTUP_TIMEOUT_MS, "the store to listen");
  if (!line.startsWith("plasma store: listening")) throw new Error(`Unexpected first line from the store: ${line}`);
  return { child, path };
}

/** SIGTERM (the store's clean stop), then SIGKILL if it has not exited in time. */
async function stopServer(server: Server): Promise<void> {
  kill(server.child, "SIGTERM");
  const timer = setTimeout(() => kill(server.child), STOP_TIMEOUT_MS);
  try {
    await server.child.status;
  } finally {
    clearTimeout(timer);
  }
}

function clientCommand(config: SmallConfig, server: Server): [string, string[]] {
  if (config.workload === "ceiling") {
    return [NATIVE_BINARY, ["client", server.path, String(CEILING_REQUESTS[config.clients]), "--wait-go"]];
  }
  const objectsMax = Math.floor(SMALL_OBJECTS_PER_RUN_MAX / config.clients);
  return [DENO, [
    ...DENO_RUN,
    `${BENCH_DIR}store_bench_client.ts`,
    server.path,
    config.workload,
    "--ms",
    String(SMALL_RUN_MS),
    "--objects-max",
    String(objectsMax),
    "--batch",
    String(BATCH_OBJECTS),
    "--wait-go",
  ]];
}

/** One run of one configuration: the aggregate rate and CPU per object of the server and clients. */
interface SmallSample {
  rate: number;
  /** Server process CPU (every thread, spinning included) per object, over the released span. */
  serverCpuUs: number;
  /** Client processes' CPU per object over their timed loops (NaN for the native clients). */
  clientCpuUs: number;
}

/**
 * Runs the clients together; returns the aggregate rate (objects/s, or requests/s for the
 * ceiling) over the span from the first start to the last end (see runTogether), and the CPU
 * the server and the clients spent per object meanwhile (from /proc).
 */
async function runClients(config: SmallConfig, server: Server): Promise<SmallSample> {
  const [command, args] = clientCommand(config, server);
  let serverCpuMs = 0;
  const result = await runTogetherDetailed(
    () => children.spawn(command, args, "piped"),
    config.clients,
    (fields) => fields.objects ?? fields.requests,
    `${config.workload} x${config.clients}`,
    { startupMs: STARTUP_TIMEOUT_MS, runMs: RUN_TIMEOUT_MS },
    {
      released: () => serverCpuMs = -processCpuMs(server.child.pid),
      finished: () => serverCpuMs += processCpuMs(server.child.pid),
    },
  );
  const clientCpuMs = result.results.reduce((sum, fields) => sum + (fields.cpu_ms ?? NaN), 0);
  return {
    rate: result.rate,
    serverCpuUs: (serverCpuMs * 1000) / result.done,
    clientCpuUs: (clientCpuMs * 1000) / result.done,
  };
}

interface LargeResult {
  memcpy: number[];
  put: number[];
  get: number[];
}

/** One client process: `rounds` rounds of memcpy, put and get of one `sizeBytes` object. */
async function runLarge(server: Server, sizeBytes: number, rounds: number): Promise<LargeResult> {
  const args = [
    ...DENO_RUN,
    `${BENCH_DIR}store_bench_client.ts`,
    server.path,
    "large",
    "--size",
    String(sizeBytes),
    "--rounds",
    String(rounds),
  ];
  const child = children.spawn(DENO, args, "null");
  try {
    const reader = new LineReader(child.stdout);
    const result: LargeResult = { memcpy: [], put: [], get: [] };
    for (let round = 0; round < rounds; round++) {
      const fields = parseKeyValues(
        await reader.next(RUN_TIMEOUT_MS, "a large-object round"),
        ["memcpy_gbps", "put_gbps", "get_gbps"],
      );
      result.memcpy.push(fields.memcpy_gbps);
      result.put.push(fields.put_gbps);
      result.get.push(fields.get_gbps);
    }
    if (!(await child.status).success) throw new Error(`The large-object client (${sizeBytes} bytes) failed`);
    return result;
  } finally {
    kill(child);
  }
}

/** Bytes free in /dev/shm (where the store's memory lives) and in RAM. */
async function freeBytes(): Promise<{ shm: number; memory: number }> {
  const df = await new Deno.Command("df", { args: ["-B1", "--output=avail", "/dev/shm"], stdout: "piped" }).output();
  const shm = Number(new TextDecoder().decode(df.stdout).trim().split("\n").pop());
  const meminfo = Deno.readTextFileSync("/proc/meminfo");
  const memory = Number(/MemAvailable:\s+(\d+) kB/.exec(meminfo)?.[1]) * 1024;
  return { shm, memory };
}

function ratio(value: number, reference: number): string {
  return `${(value / reference).toFixed(2)}x`;
}

function spread(samples: number[], scale: number, suffix: string): string {
  return `[${samples.map((value) => (value / scale).toFixed(scale === 1 ? 1 : 0)).join(", ")}]${suffix}`;
}

function cpuNote(samples: SmallSample[], server: string): string {
  const serverUs = median(samples.map((sample) => sample.serverCpuUs));
  const clientUs = median(samples.map((sample) => sample.clientCpuUs));
  const client = Number.isNaN(clientUs) ? "" : `, client ${clientUs.toFixed(1)}`;
  return `; CPU us/op: ${server} ${serverUs.toFixed(1)}${client}`;
}

function smallRows(runs: SmallSample[][]): ResultRow[] {
  const samples = runs.map((run) => run.map((sample) => sample.rate));
  const rates = samples.map(median);
  const rateOf = (workload: Workload, clients: number) =>
    rates[SMALL_CONFIGS.findIndex((c) => c.workload === workload && c.clients === clients)];
  return SMALL_CONFIGS.map((config, index) => {
    const rate = rates[index];
    const ceiling = rateOf("ceiling", config.clients);
    const each = spread(samples[index], 1000, "k");
    const plural = config.clients > 1 ? "s" : "";
    const label = {
      ceiling: `native ping-pong ceiling, ${config.clients} client${plural}`,
      create: `create+seal, ${config.clients} client${plural}`,
      get: `get+release, ${config.clients} client${plural}`,
      "put-batch": `putBatch x${BATCH_OBJECTS}, ${config.clients} client${plural}`,
      "get-batch": `get x${BATCH_OBJECTS} + releases, ${config.clients} client${plural}`,
    }[config.workload];
    const note = {
      ceiling: `reference  ${each}`,
      create: `${ratio(rate, ceiling)} ceiling (target >= 0.35x); ` +
        `${Math.round(2 * rate).toLocaleString("en-US")} round trips/s = ${ratio(2 * rate, ceiling)}  ${each}`,
      get: `${ratio(rate, ceiling)} ceiling (target >= 0.70x)  ${each}`,
      "put-batch": `${ratio(rate, rateOf("create", config.clients))} create+seal (target: several x); ` +
        `${ratio(rate / BATCH_OBJECTS, ceiling)} ceiling in round trips  ${each}`,
      "get-batch": `${ratio(rate, rateOf("get", config.clients))} get+release (target: several x); ` +
        `${ratio(rate / BATCH_OBJECTS, ceiling)} ceiling in round trips  ${each}`,
    }[config.workload];
    const cpu = cpuNote(runs[index], config.workload === "ceiling" ? "native server" : "store");
    return {
      label,
      value: rate,
      unit: config.workload === "ceiling" ? "round trips/s" : "objects/s",
      note: note + cpu,
    };
  });
}

function largeRows(name: string, result: LargeResult): ResultRow[] {
  const memcpy = median(result.memcpy);
  const put = median(result.put);
  const get = median(result.get);
  return [
    {
      label: `memcpy ${name}, JS buffer -> JS buffer`,
      value: memcpy,
      unit: "GB/s",
      note: `reference  ${spread(result.memcpy, 1, "")}`,
    },
    {
      label: `put ${name}: create, set, seal`,
      value: put,
      unit: "GB/s",
      note: `${ratio(put, memcpy)} memcpy (target >= 0.80x)  ${spread(result.put, 1, "")}`,
    },
    {
      label: `get ${name}: get, copy out, release`,
      value: get,
      unit: "GB/s",
      note: `${ratio(get, memcpy)} memcpy  ${spread(result.get, 1, "")}`,
    },
  ];
}

async function main(): Promise<void> {
  console.log(
    `\nStore benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ` +
      `load average ${Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ")}`,
  );
  const dir = Deno.makeTempDirSync({ prefix: "plasma-store-bench-" });
  const servers: Server[] = [];
  const stop = async (server: Server) => {
    servers.splice(servers.indexOf(server), 1);
    await stopServer(server);
  };
  try {
    const free = await freeBytes();
    if (free.shm < SMALL_STORE_BYTES + SHM_MARGIN_BYTES) {
      throw new Error(
        `/dev/shm has ${(free.shm / MIB).toFixed(0)} MiB free; the store needs ${SMALL_STORE_BYTES / MIB}`,
      );
    }
    const native = await startNativeServer(`${dir}/native.sock`);
    servers.push(native);
    const store = await startStore(`${dir}/store.sock`, SMALL_STORE_BYTES);
    servers.push(store);

    // Interleaved rounds: a noisy moment hurts one sample of each row, not one whole row.
    const samples = SMALL_CONFIGS.map(() => [] as SmallSample[]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [index, config] of SMALL_CONFIGS.entries()) {
        samples[index].push(await runClients(config, config.workload === "ceiling" ? native : store));
      }
    }
    await stop(native);
    printTable(
      `Store, 1 KiB objects (store --populate; median of ${ROUNDS} interleaved rounds of ${SMALL_RUN_MS} ms; ` +
        `[each round])`,
      smallRows(samples),
    );

    const large64 = await runLarge(store, 64 * MIB, LARGE_ROUNDS_64MIB);
    await stop(store);
    const rows = largeRows("64 MiB", large64);

    const after = await freeBytes();
    const memoryNeeded = LARGE_STORE_BYTES + 2 * 1024 * MIB + SHM_MARGIN_BYTES;
    if (after.shm < LARGE_STORE_BYTES + SHM_MARGIN_BYTES || after.memory < memoryNeeded) {
      console.log(
        `\nSkipping the 1 GiB row: /dev/shm has ${(after.shm / MIB).toFixed(0)} MiB free and RAM ` +
          `${(after.memory / MIB).toFixed(0)} MiB available; it needs ${
            (LARGE_STORE_BYTES + SHM_MARGIN_BYTES) / MIB
          } ` +
          `MiB of shm and ${memoryNeeded / MIB} MiB of RAM (store plus two 1 GiB JS buffers).`,
      );
    } else {
      const bigStore = await startStore(`${dir}/store-1g.sock`, LARGE_STORE_BYTES);
      servers.push(bigStore);
      rows.push(...largeRows("1 GiB", await runLarge(bigStore, 1024 * MIB, LARGE_ROUNDS_1GIB)));
      await stop(bigStore);
    }
    printTable(
      `Store, large objects (store --populate, clients map it populated; median of ${LARGE_ROUNDS_64MIB} ` +
        `(64 MiB) / ${LARGE_ROUNDS_1GIB} (1 GiB) rounds in one client process; [each round])`,
      rows,
    );
  } finally {
    for (const server of [...servers]) await stopServer(server).catch(() => kill(server.child));
    await children.killAll();
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
