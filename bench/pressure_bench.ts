/**
 * Memory-pressure benchmark: a 256 MiB store with spilling on (`--spill-directory`, a temp dir on
 * /tmp), filled with 4 MiB objects. Per round, in a fresh store:
 *   1. create+seal latency of a 4 MiB object in the empty store (each deleted again);
 *   2. a second client (bench/pressure_bench_client.ts probe) gets a small resident object in a
 *      paced loop, idle, then while one ~208 MiB spill batch is written (the driver puts 52
 *      objects, crossing the 80% threshold, then waits): does spill I/O stall the store's loop?
 *   3. a plain sequential write (Deno.FsFile.writeSync, 4 MiB buffers, then close) and read of
 *      512 MiB in the spill directory: the references, once through one reused 4 MiB buffer (it
 *      stays in the CPU's cache) and once from/into populated memory as large as the data (as the
 *      store's is). Every timed write (2, 3, and 4 after 3's
 *      file is deleted) goes into page-cache pages just freed (see recyclePageCache);
 *   4. 128 puts of 4 MiB (512 MiB, 2x capacity) while a second client polls stats: bytes spilled
 *      per second while a spill is in flight (each batch from its file's creation to the moment
 *      the store recorded it), and the file-write part alone (the file's birth to its mtime);
 *   5. get + copy out + release of half the spilled objects in order (each get restores), then
 *      gets of 8 ids each for the other half (the store restores each get's as one batch): GB/s;
 *   6. 100 create+seal of 4 MiB in the now full store (it evicts restored copies and spills).
 * Neither side fsyncs, and both reads come from the page cache. Rows are ratios to the reference
 * of the same run; figures are medians over the rounds (latencies: pooled samples).
 * Invariant: every process it starts is stopped by pid in a finally block, and the temp dir removed.
 * Usage: deno run -A bench/pressure_bench.ts   (after `zig build`)
 * @module
 */
import { SharedMemoryChunk } from "../ffi/shared_memory.ts";
import { ObjectId, PlasmaClient, type StoreStats } from "../src/client/mod.ts";
import { median, printTable, type ResultRow } from "./_measure.ts";
import { Children, kill, LineReader } from "./_processes.ts";

const ROUNDS = 3;
const MIB = 1024 * 1024;
const STORE_BYTES = 256 * MIB;
const OBJECT_BYTES = 4 * MIB;
/** Objects put through the store in step 4: 2x its capacity. */
const THROUGH_OBJECTS = (2 * STORE_BYTES) / OBJECT_BYTES;
/** Objects that take sealed primary copies just past the store's 80% spill threshold (52 x 4 MiB = 208 MiB). */
const THRESHOLD_OBJECTS = Math.floor((0.8 * STORE_BYTES) / OBJECT_BYTES) + 1;
const LATENCY_SAMPLES = 100;
/** Spilled objects restored by one get in the batched restore row (32 MiB). */
const RESTORE_BATCH = 8;
const LATENCY_WARMUP = 20;
const IDLE_PROBE_MS = 1000;
const PROBE_OBJECT_BYTES = 1024;
const STARTUP_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const SPILL_PREFIX = "plasma-spill-";

const BENCH_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname);
const ROOT_DIR = `${BENCH_DIR}..`;
const DENO = Deno.execPath();
const DENO_RUN = ["run", "-A", "--config", `${ROOT_DIR}/deno.json`];

const children = new Children();
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Store {
  child: Deno.ChildProcess;
  socket: string;
  spillDir: string;
}

async function startStore(dir: string, name: string): Promise<Store> {
  const socket = `${dir}/${name}.sock`;
  const spillDir = `${dir}/${name}-spill`;
  Deno.mkdirSync(spillDir);
  const args = [
    ...DENO_RUN,
    `${ROOT_DIR}/store.ts`,
    "--socket",
    socket,
    "--memory",
    `${STORE_BYTES / MIB}MiB`,
    "--spill-directory",
    spillDir,
    "--populate",
  ];
  const child = children.spawn(DENO, args, "null");
  const line = await new LineReader(child.stdout).next(STARTUP_TIMEOUT_MS, "the store to listen");
  if (!line.startsWith("plasma store: listening")) throw new Error(`Unexpected first line from the store: ${line}`);
  return { child, socket, spillDir };
}

/** SIGTERM (the store's clean stop), then SIGKILL if it has not exited in time. */
async function stopStore(store: Store): Promise<void> {
  kill(store.child, "SIGTERM");
  const timer = setTimeout(() => kill(store.child), STOP_TIMEOUT_MS);
  try {
    await store.child.status;
  } finally {
    clearTimeout(timer);
  }
}

/** A second client process (probe or poll) that runs until its stop file appears. */
class Helper {
  readonly #child: Deno.ChildProcess;
  readonly #reader: LineReader;
  readonly #stopFile: string;
  readonly outFile: string;

  private constructor(child: Deno.ChildProcess, stopFile: string, outFile: string) {
    this.#child = child;
    this.#reader = new LineReader(child.stdout);
    this.#stopFile = stopFile;
    this.outFile = outFile;
  }

  static async start(store: Store, dir: string, mode: "probe" | "poll", idHex = ""): Promise<Helper> {
    const tag = `${mode}-${crypto.randomUUID()}`;
    const stopFile = `${dir}/${tag}.stop`;
    const outFile = `${dir}/${tag}.out`;
    const args = [...DENO_RUN, `${BENCH_DIR}pressure_bench_client.ts`, store.socket, mode, stopFile, outFile];
    const helper = new Helper(children.spawn(DENO, idHex ? [...args, idHex] : args, "null"), stopFile, outFile);
    const line = await helper.#reader.next(STARTUP_TIMEOUT_MS, `the ${mode} client to connect`);
    if (line !== "ready") throw new Error(`Unexpected ${mode} client line: ${line}`);
    return helper;
  }

  async stop(): Promise<void> {
    Deno.writeTextFileSync(this.#stopFile, "");
    const line = await this.#reader.next(STEP_TIMEOUT_MS, "a helper client to finish");
    if (line !== "done") throw new Error(`Unexpected helper line: ${line}`);
    if (!(await this.#child.status).success) throw new Error("A helper client failed");
  }
}

interface SpillFile {
  name: string;
  bytes: number;
  bornMs: number;
  modifiedMs: number;
}

function spillFiles(spillDir: string): SpillFile[] {
  const files: SpillFile[] = [];
  for (const entry of Deno.readDirSync(spillDir)) {
    if (!entry.name.startsWith(SPILL_PREFIX)) continue;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(`${spillDir}/${entry.name}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // deleted meanwhile
      throw error;
    }
    if (info.birthtime === null || info.mtime === null) throw new Error("the filesystem gives no file birth times");
    files.push({
      name: entry.name,
      bytes: info.size,
      bornMs: info.birthtime.getTime(),
      modifiedMs: info.mtime.getTime(),
    });
  }
  return files.sort((a, b) => a.bornMs - b.bornMs);
}

async function waitFor(what: string, done: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = performance.now() + STEP_TIMEOUT_MS;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** create (timed), fill (untimed), seal (timed); returns create+seal in us. */
async function timedCreateSeal(client: PlasmaClient, id: ObjectId, source: Uint8Array): Promise<number> {
  const start = performance.now();
  const data = await client.create(id, source.length);
  const created = performance.now();
  data.set(source);
  const filled = performance.now();
  await client.seal(id);
  return (created - start + performance.now() - filled) * 1000;
}

async function put(client: PlasmaClient, source: Uint8Array): Promise<ObjectId> {
  const id = ObjectId.random();
  (await client.create(id, source.length)).set(source);
  await client.seal(id);
  return id;
}

function gbps(bytes: number, ms: number): number {
  return bytes / (ms / 1000) / 1e9;
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

interface Round {
  writeRef: number;
  readRef: number;
  writeLargeRef: number;
  readLargeRef: number;
  restoreBatch: number;
  restoreBatchObjects: number;
  spillInFlight: number;
  spillFileWrite: number;
  spillAlone: number;
  putThrough: number;
  spillBatches: number;
  restore: number;
  restoredObjects: number;
  restoreGetMs: number[];
  residentGetMs: number[];
  copyMs: number[];
  restoreNote: string;
  createEmpty: number[];
  createFull: number[];
  fullNote: string;
  probeIdle: number[];
  probeSpill: number[];
  spillAloneMs: number;
}

/**
 * Writes and deletes a file of `bytes`, untimed. On these KVM guests a write into page-cache pages
 * the guest has not used lately runs at ~0.45 GB/s (the host faults them in), into pages just freed
 * at ~4.8 GB/s: every timed write (plain or spill) follows one of these, so both get recycled pages.
 */
function recyclePageCache(directory: string, bytes: number, source: Uint8Array): void {
  const path = `${directory}/recycle.bin`;
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  for (let written = 0; written < bytes;) {
    written += file.writeSync(source.subarray(0, Math.min(source.length, bytes - written)));
  }
  file.close();
  Deno.removeSync(path);
}

/**
 * Reference: a plain sequential write then read of `bytes` in `directory`, 4 MiB at a time, from
 * and into `memory`: either one reused 4 MiB buffer (stays in the CPU's cache) or populated shared
 * memory as large as the data (like the store's: every byte comes from or goes to DRAM).
 */
function referenceIo(directory: string, bytes: number, memory: Uint8Array): { write: number; read: number } {
  const path = `${directory}/reference.bin`;
  const slice = (done: number) => memory.subarray(done % memory.length, (done % memory.length) + OBJECT_BYTES);
  let start = performance.now();
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  for (let written = 0; written < bytes;) written += file.writeSync(slice(written));
  file.close();
  const write = gbps(bytes, performance.now() - start);
  start = performance.now();
  const reader = Deno.openSync(path, { read: true });
  let read = 0;
  for (let got; (got = reader.readSync(slice(read))) !== null;) read += got;
  reader.close();
  const readRate = gbps(read, performance.now() - start);
  if (read !== bytes) throw new Error(`reference read ${read} of ${bytes} bytes`);
  Deno.removeSync(path);
  return { write, read: readRate };
}

async function runRound(dir: string, round: number, source: Uint8Array): Promise<Round> {
  const store = await startStore(dir, `store-${round}`);
  const helpers: Helper[] = [];
  let client: PlasmaClient | undefined;
  try {
    client = await PlasmaClient.connect(store.socket);
    const stats = (): Promise<StoreStats> => client!.stats();

    // 1. Empty store: create+seal latency (each object deleted again, so the store stays empty).
    const createEmpty: number[] = [];
    for (let sample = 0; sample < LATENCY_SAMPLES + LATENCY_WARMUP; sample++) {
      const id = ObjectId.random();
      const us = await timedCreateSeal(client, id, source);
      if (sample >= LATENCY_WARMUP) createEmpty.push(us);
      await client.delete([id]);
    }

    // 2. Loop responsiveness. The driver holds a reference to the probe's object so that it is
    // never spilled (a referenced object is not spillable): the probe measures the loop, not restores.
    const probeId = await client.put(new Uint8Array(PROBE_OBJECT_BYTES).fill(7));
    if ((await client.get([probeId], { timeoutMs: 0 }))[0] === null) throw new Error("probe object missing");
    const probe = await Helper.start(store, dir, "probe", probeId.toHex());
    helpers.push(probe);
    const idleStart = now();
    await sleep(IDLE_PROBE_MS);
    const idleEnd = now();
    recyclePageCache(store.spillDir, STORE_BYTES, source);
    const before = await stats();
    const filled: ObjectId[] = [];
    for (let object = 0; object < THRESHOLD_OBJECTS; object++) filled.push(await put(client, source));
    // The last seal crossed the threshold: one batch of all of them is being written. Wait, idle.
    await waitFor("the threshold spill", async () => (await stats()).numBytesSpilled > before.numBytesSpilled);
    await sleep(50);
    await probe.stop();
    helpers.splice(helpers.indexOf(probe), 1);
    const aloneFiles = spillFiles(store.spillDir);
    if (aloneFiles.length !== 1) {
      throw new Error(`expected one spill file after the threshold, found ${aloneFiles.length}`);
    }
    const [alone] = aloneFiles;
    const samples = new Float64Array(Deno.readFileSync(probe.outFile).buffer);
    const probeIdle: number[] = [];
    const probeSpill: number[] = [];
    for (let index = 0; index < samples.length; index += 2) {
      const at = samples[index];
      if (at >= idleStart && at <= idleEnd) probeIdle.push(samples[index + 1]);
      // A call that ended inside the file's write window (ms timestamps: widen by 1 ms).
      if (at >= alone.bornMs && at <= alone.modifiedMs + 1) probeSpill.push(samples[index + 1]);
    }
    const spillAloneMs = Math.max(1, alone.modifiedMs - alone.bornMs);
    const spillAlone = gbps(alone.bytes, spillAloneMs);
    await client.delete(filled);
    await waitFor("the spill file to go", () => spillFiles(store.spillDir).length === 0);

    // 3. Reference: plain write and read of the same bytes in the same directory.
    const throughBytes = THROUGH_OBJECTS * OBJECT_BYTES;
    recyclePageCache(store.spillDir, throughBytes, source);
    const reference = referenceIo(store.spillDir, throughBytes, source);
    const large = SharedMemoryChunk.create(throughBytes, { populate: true });
    let referenceLarge;
    try {
      for (let offset = 0; offset < throughBytes; offset += OBJECT_BYTES) large.bytes().set(source, offset);
      recyclePageCache(store.spillDir, throughBytes, source);
      referenceLarge = referenceIo(store.spillDir, throughBytes, large.bytes());
    } finally {
      large.close();
    }

    // 4. Put 2x capacity through the store while a second client polls its stats.
    const poller = await Helper.start(store, dir, "poll");
    helpers.push(poller);
    const start4 = await stats();
    const putStart = now();
    const ids: ObjectId[] = [];
    for (let object = 0; object < THROUGH_OBJECTS; object++) ids.push(await put(client, source));
    const putEnd = now();
    // Let a batch started by the last seals finish.
    let settled = await stats();
    await waitFor("the spills to settle", async () => {
      await sleep(200);
      const next = await stats();
      const same = next.numBytesSpilled === settled.numBytesSpilled;
      settled = next;
      return same && spillFiles(store.spillDir).every((file) => now() - file.modifiedMs > 150);
    });
    await poller.stop();
    helpers.splice(helpers.indexOf(poller), 1);
    const polled = JSON.parse(Deno.readTextFileSync(poller.outFile)) as { changes: number[][] };
    const changes = polled.changes.filter(([, bytes]) => bytes > start4.numBytesSpilled);
    const files = spillFiles(store.spillDir);
    if (changes.length !== files.length) {
      throw new Error(`${files.length} spill files but ${changes.length} recorded spills seen by the poller`);
    }
    let inFlightMs = 0;
    let fileWriteMs = 0;
    let fileBytes = 0;
    files.forEach((file, index) => {
      inFlightMs += changes[index][0] - file.bornMs;
      fileWriteMs += Math.max(1, file.modifiedMs - file.bornMs);
      fileBytes += file.bytes;
    });
    const spilledBytes = settled.numBytesSpilled - start4.numBytesSpilled;
    if (settled.numObjectsFallback !== start4.numObjectsFallback) throw new Error("objects went to the fallback");

    // 5. Restore every spilled object in order: get (restores), copy out, release.
    const inMemory = new Set((await client.list()).map((listing) => listing.id.key));
    const spilled = ids.filter((id) => !inMemory.has(id.key));
    const resident = ids.filter((id) => inMemory.has(id.key));
    const target = new Uint8Array(OBJECT_BYTES);
    const getCopyRelease = async (id: ObjectId, getMs: number[], copyMs: number[]) => {
      const start = performance.now();
      const [object] = await client!.get([id], { timeoutMs: 0 });
      const got = performance.now();
      if (object === null) throw new Error(`object ${id} did not come back`);
      target.set(object.data);
      copyMs.push(performance.now() - got);
      getMs.push(got - start);
      await client!.release(id);
    };
    // Baseline: the same on the objects still in memory (no restore).
    const residentGetMs: number[] = [];
    for (const id of resident) await getCopyRelease(id, residentGetMs, []);
    const beforeRestore = await stats();
    const restoreGetMs: number[] = [];
    const copyMs: number[] = [];
    // The first half one get each (copied out, released); the second half by one get of all.
    const oneByOne = spilled.slice(0, Math.ceil(spilled.length / 2));
    const together = spilled.slice(oneByOne.length);
    const restoreStart = performance.now();
    for (const id of oneByOne) await getCopyRelease(id, restoreGetMs, copyMs);
    const restoreMs = performance.now() - restoreStart;
    const afterRestore = await stats();
    const restoredBytes = afterRestore.numBytesRestoredFromDisk - beforeRestore.numBytesRestoredFromDisk;
    if (restoredBytes !== oneByOne.length * OBJECT_BYTES) {
      throw new Error(`restored ${restoredBytes} bytes for ${oneByOne.length} spilled objects`);
    }
    // Gets of RESTORE_BATCH ids each: room for them comes from evicting the copies restored before
    // (a get of all would first wait for resident primaries to be spilled).
    let batchMs = 0;
    for (let first = 0; first < together.length; first += RESTORE_BATCH) {
      const ids = together.slice(first, first + RESTORE_BATCH);
      const batchStart = performance.now();
      const batch = await client.get(ids, { timeoutMs: 0 });
      batchMs += performance.now() - batchStart;
      if (batch.some((object) => object === null)) throw new Error("a spilled object did not come back");
      for (const id of ids) await client.release(id);
    }
    const afterBatch = await stats();
    const batchBytes = afterBatch.numBytesRestoredFromDisk - afterRestore.numBytesRestoredFromDisk;
    if (batchBytes !== together.length * OBJECT_BYTES) {
      throw new Error(`restored ${batchBytes} bytes for ${together.length} spilled objects in one get`);
    }

    // 6. The full store: create+seal latency of new objects, kept (so it keeps spilling and evicting).
    const filesBefore = new Set(spillFiles(store.spillDir).map((file) => file.name));
    const createFull: number[] = [];
    for (let sample = 0; sample < LATENCY_SAMPLES; sample++) {
      createFull.push(await timedCreateSeal(client, ObjectId.random(), source));
    }
    const after = await stats();
    const batches = spillFiles(store.spillDir).filter((file) => !filesBefore.has(file.name));
    const biggest = batches.reduce((a, b) => (b.bytes > a.bytes ? b : a), batches[0]);
    const fullNote = `store ${((afterRestore.allocatedBytes / STORE_BYTES) * 100).toFixed(0)}% allocated before; ` +
      `during: ${after.numObjectsSpilled - afterRestore.numObjectsSpilled} spilled, ` +
      `${after.numObjectsEvicted - afterRestore.numObjectsEvicted} evicted, ` +
      `${after.numObjectsFallback - afterRestore.numObjectsFallback} fallback; ${batches.length} batches, ` +
      `biggest ${((biggest?.bytes ?? 0) / MIB).toFixed(0)} MiB written in ${
        biggest ? biggest.modifiedMs - biggest.bornMs : 0
      } ms; ${createFull.filter((us) => us > 10_000).length} creates > 10 ms`;
    const restoreNote = `during the restores: ${afterRestore.numObjectsSpilled - beforeRestore.numObjectsSpilled} ` +
      `spilled, ${afterRestore.numObjectsEvicted - beforeRestore.numObjectsEvicted} evicted`;

    return {
      writeRef: reference.write,
      readRef: reference.read,
      writeLargeRef: referenceLarge.write,
      readLargeRef: referenceLarge.read,
      restoreBatch: gbps(batchBytes, batchMs),
      restoreBatchObjects: together.length,
      spillInFlight: gbps(spilledBytes, inFlightMs),
      spillFileWrite: gbps(fileBytes, fileWriteMs),
      spillAlone,
      putThrough: gbps(throughBytes, putEnd - putStart),
      spillBatches: files.length,
      restore: gbps(restoredBytes, restoreMs),
      restoredObjects: oneByOne.length,
      restoreGetMs,
      residentGetMs,
      copyMs,
      restoreNote,
      createEmpty,
      createFull,
      fullNote,
      probeIdle,
      probeSpill,
      spillAloneMs,
    };
  } finally {
    client?.close();
    for (const helper of helpers) await helper.stop().catch(() => {});
    await stopStore(store).catch(() => kill(store.child));
  }
}

function ratio(value: number, reference: number): string {
  return `${(value / reference).toFixed(2)}x`;
}

function each(values: number[], digits = 2): string {
  return `[${values.map((value) => value.toFixed(digits)).join(", ")}]`;
}

function latencyRows(
  name: string,
  unit: string,
  reference: number[],
  measured: number[][],
  refLabel: string,
  label: string,
  extra = "",
): ResultRow[] {
  const pooledRef = reference;
  const pooled = measured.flat();
  return [
    { label: `${refLabel}, median`, value: median(pooledRef), unit, note: `reference (${pooledRef.length} ${name})` },
    { label: `${refLabel}, p99`, value: percentile(pooledRef, 0.99), unit, note: "reference" },
    {
      label: `${label}, median`,
      value: median(pooled),
      unit,
      note: `${ratio(median(pooled), median(pooledRef))} (${pooled.length} ${name})${extra}`,
    },
    {
      label: `${label}, p99`,
      value: percentile(pooled, 0.99),
      unit,
      note:
        `${ratio(percentile(pooled, 0.99), percentile(pooledRef, 0.99))}; max ${Math.round(Math.max(...pooled))}; ` +
        `per round p99 ${each(measured.map((values) => percentile(values, 0.99)), 0)}`,
    },
  ];
}

async function main(): Promise<void> {
  console.log(
    `\nMemory pressure benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ` +
      `load average ${Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ")}`,
  );
  const dir = Deno.makeTempDirSync({ dir: "/tmp", prefix: "plasma-pressure-bench-" });
  const source = new Uint8Array(OBJECT_BYTES);
  for (let index = 0; index < source.length; index += 4096) source[index] = index & 255;
  source.fill(1, 0, 4096);
  const rounds: Round[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) rounds.push(await runRound(dir, round, source));
  } finally {
    await children.killAll();
    Deno.removeSync(dir, { recursive: true });
  }
  const pick = (key: keyof Round) => rounds.map((round) => round[key] as number);
  const med = (key: keyof Round) => median(pick(key));
  const mib = THROUGH_OBJECTS * OBJECT_BYTES / MIB;
  printTable(
    `Spill and restore, ${STORE_BYTES / MIB} MiB store, ${OBJECT_BYTES / MIB} MiB objects, spill dir on /tmp ` +
      `(no fsync anywhere; reads from the page cache; median of ${ROUNDS} rounds, a fresh store each; [each round])`,
    [
      {
        label: `plain write ${mib} MiB, writeSync 4 MiB, close`,
        value: med("writeRef"),
        unit: "GB/s",
        note: `reference  ${each(pick("writeRef"))}`,
      },
      {
        label: `plain write ${mib} MiB from ${mib} MiB of memory`,
        value: med("writeLargeRef"),
        unit: "GB/s",
        note: `reference (the spill's source is as large)  ${each(pick("writeLargeRef"))}`,
      },
      {
        label: `spill while in flight (${mib} MiB put through)`,
        value: med("spillInFlight"),
        unit: "GB/s",
        note:
          `${ratio(med("spillInFlight"), med("writeRef"))} / ${
            ratio(med("spillInFlight"), med("writeLargeRef"))
          } write; file birth -> stats record, ` +
          `${each(pick("spillBatches"), 0)} batches  ${each(pick("spillInFlight"))}`,
      },
      {
        label: "  of which the file write (birth -> mtime)",
        value: med("spillFileWrite"),
        unit: "GB/s",
        note: `${ratio(med("spillFileWrite"), med("writeRef"))} / ${
          ratio(med("spillFileWrite"), med("writeLargeRef"))
        } write  ${each(pick("spillFileWrite"))}`,
      },
      {
        label: `first spill: one ${THRESHOLD_OBJECTS * OBJECT_BYTES / MIB} MiB batch, no puts`,
        value: med("spillAlone"),
        unit: "GB/s",
        note:
          `${ratio(med("spillAlone"), med("writeRef"))} / ${
            ratio(med("spillAlone"), med("writeLargeRef"))
          } write; file birth -> mtime ${each(pick("spillAloneMs"), 0)} ms  ` +
          each(pick("spillAlone")),
      },
      {
        label: `put-through: ${THROUGH_OBJECTS} puts of 4 MiB, wall`,
        value: med("putThrough"),
        unit: "GB/s",
        note: `${ratio(med("putThrough"), med("writeRef"))} write (puts wait for spills)  ${each(pick("putThrough"))}`,
      },
      {
        label: `plain read ${mib} MiB, readSync 4 MiB`,
        value: med("readRef"),
        unit: "GB/s",
        note: `reference  ${each(pick("readRef"))}`,
      },
      {
        label: `plain read ${mib} MiB into ${mib} MiB of memory`,
        value: med("readLargeRef"),
        unit: "GB/s",
        note: `reference (restores fill memory as large)  ${each(pick("readLargeRef"))}`,
      },
      {
        label: "restore: get, copy out, release, one by one",
        value: med("restore"),
        unit: "GB/s",
        note:
          `${ratio(med("restore"), med("readRef"))} / ${ratio(med("restore"), med("readLargeRef"))} read; ${
            each(pick("restoredObjects"), 0)
          } objects  ` + each(pick("restore")),
      },
      {
        label: `restore: gets of ${RESTORE_BATCH} ids, the other half`,
        value: med("restoreBatch"),
        unit: "GB/s",
        note:
          `${ratio(med("restoreBatch"), med("readRef"))} / ${ratio(med("restoreBatch"), med("readLargeRef"))} read; ${
            each(pick("restoreBatchObjects"), 0)
          } objects  ` + each(pick("restoreBatch")),
      },
    ],
  );
  const pooled = (key: "restoreGetMs" | "residentGetMs" | "copyMs") => rounds.flatMap((round) => round[key]);
  const residentGet = median(pooled("residentGetMs"));
  printTable(`Restore, per 4 MiB object (${ROUNDS} rounds pooled; round 1 ${rounds[0].restoreNote})`, [
    {
      label: "get of a resident object (no restore)",
      value: residentGet * 1000,
      unit: "us",
      note: `reference, median of ${pooled("residentGetMs").length}`,
    },
    {
      label: "get of a spilled object (restore), median",
      value: median(pooled("restoreGetMs")) * 1000,
      unit: "us",
      note: `${ratio(median(pooled("restoreGetMs")), residentGet)}; p99 ${
        Math.round(percentile(pooled("restoreGetMs"), 0.99) * 1000)
      } us`,
    },
    {
      label: "copy out of a restored object, median",
      value: median(pooled("copyMs")) * 1000,
      unit: "us",
      note: `${gbps(OBJECT_BYTES, median(pooled("copyMs"))).toFixed(1)} GB/s`,
    },
  ]);
  printTable(
    `Create+seal of a 4 MiB object (data written between, untimed; ${LATENCY_SAMPLES} per round, ` +
      `${ROUNDS} rounds pooled)`,
    latencyRows(
      "creates",
      "us",
      rounds.flatMap((round) => round.createEmpty),
      rounds.map((round) => round.createFull),
      "empty store",
      "full store, spilling",
    ),
  );
  rounds.forEach((round, index) => console.log(`  full store, round ${index + 1}: ${round.fullNote}`));
  printTable(
    `Loop responsiveness: a second client's get([1 KiB resident], {timeoutMs: 0}) + release, paced ~0.3 ms ` +
      `apart (${ROUNDS} rounds pooled)`,
    latencyRows(
      "gets",
      "us",
      rounds.flatMap((round) => round.probeIdle),
      rounds.map((round) => round.probeSpill),
      `idle store (${IDLE_PROBE_MS} ms)`,
      `while a ${THRESHOLD_OBJECTS * OBJECT_BYTES / MIB} MiB spill is written`,
    ),
  );
}

if (import.meta.main) await main();
