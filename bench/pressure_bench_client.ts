/**
 * The second client of the memory-pressure benchmark (bench/pressure_bench.ts drives it): a
 * separate process that watches the store while the driver's client fills it.
 * Usage: deno run -A bench/pressure_bench_client.ts SOCKET MODE STOP_FILE OUT_FILE [ID_HEX]
 *   MODE probe  get([ID_HEX], {timeoutMs: 0}) + release in a loop, paced (a ~0.3 ms sleep between
 *               calls, so the probe takes little CPU from the store on a 2-vCPU machine); records
 *               each call's end time (ms since the epoch) and latency (us)
 *        poll   stats() every ~2 ms; records (time, numBytesSpilled, numObjectsSpilled,
 *               numSpillFiles) whenever the spilled bytes change, plus the first and last poll
 * It connects, prints `ready`, runs until STOP_FILE exists, writes its records to OUT_FILE (probe:
 * Float64Array pairs [time_ms, latency_us, ...]; poll: JSON), prints `done` and exits.
 * Times are `performance.timeOrigin + performance.now()`, comparable with the driver's and with
 * file timestamps (both the realtime clock).
 * @module
 */
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";

const PROBE_PAUSE_MS = 0.3;
const POLL_PERIOD_MS = 2;
/** Calls between two checks for the stop file (a stat costs a few us). */
const CALLS_PER_STOP_CHECK = 32;

const [socket, mode, stopFile, outFile, idHex] = Deno.args;
if (!socket || (mode !== "probe" && mode !== "poll") || !stopFile || !outFile || (mode === "probe" && !idHex)) {
  throw new RangeError(
    `usage: pressure_bench_client.ts SOCKET probe|poll STOP_FILE OUT_FILE [ID_HEX], got ${Deno.args}`,
  );
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Sleeps the thread (not the event loop: nothing else runs here). */
function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function stopRequested(): boolean {
  try {
    Deno.statSync(stopFile);
    return true;
  } catch {
    return false;
  }
}

const now = () => performance.timeOrigin + performance.now();

const client = await PlasmaClient.connect(socket);
try {
  if (mode === "probe") {
    const id = ObjectId.fromHex(idHex);
    // Warm up (and check the object is there).
    for (let call = 0; call < 200; call++) {
      const [object] = await client.get([id], { timeoutMs: 0 });
      if (object === null) throw new Error(`probe object ${idHex} is not in the store`);
      await client.release(id);
    }
    console.log("ready");
    let samples = new Float64Array(1 << 16);
    let count = 0;
    for (let call = 0;; call++) {
      if (call % CALLS_PER_STOP_CHECK === 0 && stopRequested()) break;
      const start = performance.now();
      const [object] = await client.get([id], { timeoutMs: 0 });
      if (object === null) throw new Error(`probe object ${idHex} vanished`);
      await client.release(id);
      const end = performance.now();
      if (count + 2 > samples.length) {
        const bigger = new Float64Array(samples.length * 2);
        bigger.set(samples);
        samples = bigger;
      }
      samples[count++] = performance.timeOrigin + end;
      samples[count++] = (end - start) * 1000;
      pause(PROBE_PAUSE_MS);
    }
    Deno.writeFileSync(outFile, new Uint8Array(samples.buffer, 0, count * 8));
  } else {
    console.log("ready");
    const changes: number[][] = [];
    let last = -1;
    let first = 0;
    let polls = 0;
    while (!stopRequested()) {
      const stats = await client.stats();
      const at = now();
      if (polls++ === 0) first = at;
      if (stats.numBytesSpilled !== last) {
        last = stats.numBytesSpilled;
        changes.push([at, stats.numBytesSpilled, stats.numObjectsSpilled, stats.numSpillFiles]);
      }
      pause(POLL_PERIOD_MS);
    }
    Deno.writeTextFileSync(outFile, JSON.stringify({ first, last: now(), polls, changes }));
  }
  console.log("done");
} finally {
  client.close();
}
