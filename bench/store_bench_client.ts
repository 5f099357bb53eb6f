/**
 * One client process of the store benchmark (bench/store_bench.ts drives it). It connects with
 * `PlasmaClient`, warms up, and times one kind of operation; everything it created is deleted
 * before it exits, so runs do not fill the store.
 * Usage: deno run -A bench/store_bench_client.ts SOCKET MODE [options]
 *   MODE create     create(1 KiB) + write + seal, one object per call (two round trips)
 *        get        get([id], {timeoutMs: 0}) + release of its own existing 1 KiB objects
 *        put-batch  putBatch of --batch objects of 1 KiB per call (one round trip)
 *        get-batch  get of --batch ids per call (one round trip) + one release each
 *        large      put and get of one --size-byte object, --rounds times, each beside a plain
 *                   memcpy (Uint8Array.prototype.set) of the same bytes between two JS buffers
 *   --ms D          timed span of the small modes (default 1000)
 *   --objects-max N stop the small modes early after N objects (default 200000), bounding memory
 *   --batch B       objects per call of the batched modes (default 64)
 *   --size BYTES    object size of the large mode
 *   --rounds R      rounds of the large mode (default 5)
 *   --wait-go       connect and warm up, print `ready`, start when a line arrives on stdin
 * Small modes print one line of key=value pairs: rate (objects/s), objects, calls, round_trips,
 * seconds, start_ms, end_ms, cpu_ms (this process's CPU over the timed span). The large mode prints one line per round: memcpy_gbps, put_gbps,
 * get_gbps (and create/seal latencies in us).
 * @module
 */
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { processCpuMs } from "./_measure.ts";

const SMALL_OBJECT_BYTES = 1024;
/** Objects each client of the get modes creates beforehand and then gets round-robin. */
const GET_POOL_OBJECTS = 1024;
const WARMUP_CALLS = 300;
/** Calls between two clock reads in the timed loops (the clock costs ~0.1 us). */
const CALLS_PER_CLOCK_CHECK = 16;
const DELETE_IDS_PER_CALL = 5000;

type Mode = "create" | "get" | "put-batch" | "get-batch" | "large";

interface Options {
  socket: string;
  mode: Mode;
  durationMs: number;
  objectsMax: number;
  batch: number;
  sizeBytes: number;
  rounds: number;
  waitGo: boolean;
}

function parseOptions(args: string[]): Options {
  const [socket, mode] = args;
  const modes: Mode[] = ["create", "get", "put-batch", "get-batch", "large"];
  if (!socket || !modes.includes(mode as Mode)) {
    throw new RangeError(`usage: store_bench_client.ts SOCKET ${modes.join("|")} [options], got ${args.join(" ")}`);
  }
  const options: Options = {
    socket,
    mode: mode as Mode,
    durationMs: 1000,
    objectsMax: 200_000,
    batch: 64,
    sizeBytes: 0,
    rounds: 5,
    waitGo: false,
  };
  for (let index = 2; index < args.length; index++) {
    const flag = args[index];
    if (flag === "--wait-go") {
      options.waitGo = true;
      continue;
    }
    const value = Number(args[++index]);
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${flag} needs a positive integer`);
    if (flag === "--ms") options.durationMs = value;
    else if (flag === "--objects-max") options.objectsMax = value;
    else if (flag === "--batch") options.batch = value;
    else if (flag === "--size") options.sizeBytes = value;
    else if (flag === "--rounds") options.rounds = value;
    else throw new RangeError(`Unknown argument ${flag}`);
  }
  if (options.mode === "large" && options.sizeBytes === 0) throw new RangeError("large needs --size");
  return options;
}

function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

function waitForGo(options: Options): void {
  if (!options.waitGo) return;
  console.log("ready");
  Deno.stdin.readSync(new Uint8Array(1));
}

/** One timed operation of a small mode: returns how many objects it handled. */
interface SmallWorkload {
  objectsPerCall: number;
  roundTripsPerCall: number;
  call(): Promise<void>;
}

function makeWorkload(client: PlasmaClient, options: Options, created: ObjectId[]): Promise<SmallWorkload> {
  const payload = new Uint8Array(SMALL_OBJECT_BYTES).fill(0x5a);
  switch (options.mode) {
    case "create":
      return Promise.resolve({
        objectsPerCall: 1,
        roundTripsPerCall: 2,
        async call() {
          const id = ObjectId.random();
          const data = await client.create(id, SMALL_OBJECT_BYTES);
          data.set(payload);
          await client.seal(id);
          created.push(id);
        },
      });
    case "put-batch": {
      const items = Array.from({ length: options.batch }, () => ({ data: payload }));
      return Promise.resolve({
        objectsPerCall: options.batch,
        roundTripsPerCall: 1,
        async call() {
          for (const id of await client.putBatch(items)) created.push(id);
        },
      });
    }
    case "get":
    case "get-batch":
      return makeGetWorkload(client, options, created, payload);
    case "large":
      throw new Error("unreachable");
  }
}

async function makeGetWorkload(
  client: PlasmaClient,
  options: Options,
  created: ObjectId[],
  payload: Uint8Array,
): Promise<SmallWorkload> {
  const items = Array.from({ length: 64 }, () => ({ data: payload }));
  while (created.length < GET_POOL_OBJECTS) created.push(...await client.putBatch(items));
  const pool = created.slice();
  const batch = options.mode === "get" ? 1 : options.batch;
  if (GET_POOL_OBJECTS % batch !== 0) throw new RangeError(`--batch must divide ${GET_POOL_OBJECTS}`);
  const batches = Array.from(
    { length: GET_POOL_OBJECTS / batch },
    (_, index) => pool.slice(index * batch, (index + 1) * batch),
  );
  let next = 0;
  return {
    objectsPerCall: batch,
    roundTripsPerCall: 1,
    async call() {
      const ids = batches[next];
      next = (next + 1) % batches.length;
      const objects = await client.get(ids, { timeoutMs: 0 });
      for (let index = 0; index < ids.length; index++) {
        if (objects[index] === null || objects[index]!.data.length !== SMALL_OBJECT_BYTES) {
          throw new Error(`store_bench_client: object ${ids[index]} missing`);
        }
        await client.release(ids[index]);
      }
    },
  };
}

async function runSmall(client: PlasmaClient, options: Options): Promise<void> {
  const created: ObjectId[] = [];
  try {
    const workload = await makeWorkload(client, options, created);
    for (let call = 0; call < WARMUP_CALLS; call++) await workload.call();
    waitForGo(options);
    const callsMax = Math.ceil(options.objectsMax / workload.objectsPerCall);
    let calls = 0;
    const startMs = wallMs();
    const cpuStartMs = processCpuMs("self");
    const deadline = performance.now() + options.durationMs;
    while (calls < callsMax && performance.now() < deadline) {
      for (let index = 0; index < CALLS_PER_CLOCK_CHECK && calls < callsMax; index++, calls++) await workload.call();
    }
    const endMs = wallMs();
    const cpuMs = processCpuMs("self") - cpuStartMs;
    const seconds = (endMs - startMs) / 1000;
    const objects = calls * workload.objectsPerCall;
    console.log(
      `rate=${(objects / seconds).toFixed(0)} objects=${objects} calls=${calls} ` +
        `round_trips=${calls * workload.roundTripsPerCall} seconds=${seconds.toFixed(4)} ` +
        `start_ms=${startMs.toFixed(3)} end_ms=${endMs.toFixed(3)} cpu_ms=${cpuMs}`,
    );
  } finally {
    for (let start = 0; start < created.length; start += DELETE_IDS_PER_CALL) {
      await client.delete(created.slice(start, start + DELETE_IDS_PER_CALL));
    }
  }
}

function gbps(bytes: number, ms: number): number {
  return bytes / (ms * 1e6);
}

/** memcpy reference, put and get of one large object, interleaved round by round. */
async function runLarge(client: PlasmaClient, options: Options): Promise<void> {
  const size = options.sizeBytes;
  // Both JS buffers are written once before timing, so no copy below pays for first touches.
  const source = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 4096) source[offset] = (offset >>> 12) & 0xff;
  source.fill(0xa5, 0, Math.min(size, 1 << 20));
  const target = new Uint8Array(size).fill(1);

  const putOnce = async (): Promise<{ id: ObjectId; ms: number; createMs: number; sealMs: number }> => {
    const id = ObjectId.random();
    const start = performance.now();
    const data = await client.create(id, size);
    const created = performance.now();
    data.set(source);
    const written = performance.now();
    await client.seal(id);
    const end = performance.now();
    return { id, ms: end - start, createMs: created - start, sealMs: end - written };
  };
  const getOnce = async (id: ObjectId): Promise<number> => {
    const start = performance.now();
    const [object] = await client.get([id], { timeoutMs: 0 });
    if (object === null || object.data.length !== size) throw new Error(`store_bench_client: ${id} missing`);
    target.set(object.data);
    const ms = performance.now() - start;
    await client.release(id);
    return ms;
  };

  // Warm-up: maps the store's chunk in this process (populated) and compiles every path.
  target.set(source);
  const warm = await putOnce();
  await getOnce(warm.id);
  await client.delete([warm.id]);
  if (target[size - 4096] !== source[size - 4096]) throw new Error("store_bench_client: get read wrong bytes");
  waitForGo(options);

  for (let round = 0; round < options.rounds; round++) {
    target.fill(0, 0, 1);
    const copyStart = performance.now();
    target.set(source);
    const memcpyMs = performance.now() - copyStart;
    const put = await putOnce();
    target.fill(0, 0, 1);
    const getMs = await getOnce(put.id);
    if (target[0] !== source[0]) throw new Error("store_bench_client: get read wrong bytes");
    await client.delete([put.id]);
    console.log(
      `memcpy_gbps=${gbps(size, memcpyMs).toFixed(3)} put_gbps=${gbps(size, put.ms).toFixed(3)} ` +
        `get_gbps=${gbps(size, getMs).toFixed(3)} create_us=${(put.createMs * 1000).toFixed(0)} ` +
        `seal_us=${(put.sealMs * 1000).toFixed(0)}`,
    );
  }
}

async function main(args: string[]): Promise<void> {
  const options = parseOptions(args);
  const client = await PlasmaClient.connect(options.socket);
  try {
    if (options.mode === "large") await runLarge(client, options);
    else await runSmall(client, options);
  } finally {
    client.close();
  }
}

if (import.meta.main) await main(Deno.args);
