/** Unit tests of the CLI's pure parts: units, tables, list order, progress, top frames. */
import assert from "node:assert/strict";
import { ObjectId } from "../../client/mod.ts";
import type { ObjectListing } from "../../client/mod.ts";
import { statsWith } from "../../observe/_stats_fixture.ts";
import { ratesBetween } from "../../observe/stats_view.ts";
import { formatTable, gauge, humanBytes, humanDuration, humanRate, percent } from "./format.ts";
import { listRows, renderList } from "./list_command.ts";
import { Progress } from "./progress.ts";
import { renderTopFrame } from "./top_command.ts";

Deno.test("human units: sizes, rates, durations, percentages, gauges", () => {
  assert.equal(humanBytes(1536 * 1024), "1.5 MiB");
  assert.equal(humanBytes(-3), "0 B");
  assert.equal(humanRate(2.5 * 1024 * 1024, "bytes"), "2.5 MiB/s");
  assert.equal(humanRate(3.25, "count"), "3.3/s");
  assert.equal(humanRate(250.4, "count"), "250/s");
  assert.equal(humanDuration(850), "850ms");
  assert.equal(humanDuration(12_400), "12s");
  assert.equal(humanDuration(303_000), "5m3s");
  assert.equal(humanDuration(7_800_000), "2h10m");
  assert.equal(percent(1, 3), "33.3%");
  assert.equal(percent(1, 0), "0.0%");
  assert.equal(gauge(0.25, 8), "[##......]");
  assert.equal(gauge(7, 4), "[####]");
  assert.equal(formatTable(["A", "NUM"], [["xx", "1"], ["y", "100"]], new Set([1])), "A   NUM\nxx    1\ny   100");
});

function listing(hex: string, size: number, createTimeMs: number, refCount = 0): ObjectListing {
  return {
    id: ObjectId.fromHex(hex),
    dataSize: size,
    metadataSize: 0,
    refCount,
    state: "sealed",
    source: "CreatedByWorker",
    createTimeMs,
    constructDurationMs: 1,
  };
}

Deno.test("listRows() sorts by size, age or id, ties by id, and limits", () => {
  const listings = [listing("aa", 10, 5_000), listing("bb", 30, 9_000), listing("cc", 30, 1_000, 2)];
  assert.deepEqual(listRows(listings, 10_000, "size").map((row) => row.id), ["bb", "cc", "aa"]);
  assert.deepEqual(listRows(listings, 10_000, "age").map((row) => row.id), ["cc", "aa", "bb"]);
  assert.deepEqual(listRows(listings, 10_000, "refcount", 1).map((row) => row.id), ["cc"]);
  const [row] = listRows(listings, 10_000, "id", 1);
  assert.deepEqual(row, {
    id: "aa",
    sizeBytes: 10,
    dataSizeBytes: 10,
    metadataSizeBytes: 0,
    state: "sealed",
    source: "created_by_worker",
    refCount: 0,
    ageMs: 5_000,
  });
  assert.throws(() => listRows(listings, 0, "colour"), /--sort takes one of size, age, refcount, id, state, source/);
  assert.equal(
    renderList([row], 3),
    "ID  SIZE  STATE   SOURCE             REFS  AGE\naa  10 B  sealed  created_by_worker     0   5s\n1 of 3 objects",
  );
});

/** A stderr stand-in that records what was written. */
function sink(terminal: boolean) {
  const written: string[] = [];
  return {
    written,
    isTerminal: () => terminal,
    writeSync: (bytes: Uint8Array) => (written.push(new TextDecoder().decode(bytes)), bytes.length),
  };
}

Deno.test("Progress draws one line in place on a terminal, and nothing when not a terminal", () => {
  const terminal = sink(true);
  const progress = new Progress("put x.bin", 2048, terminal);
  progress.update(1024);
  progress.update(1536); // within the redraw interval: skipped
  progress.finish(2048);
  assert.equal(terminal.written.length, 3);
  assert.match(terminal.written[0], /^\rput x\.bin {2}1\.0 KiB of 2\.0 KiB \(50\.0%\) {2}.*\/s/);
  assert.ok(terminal.written[0].endsWith("\x1b[K"), "clears what a longer previous line left");
  assert.match(terminal.written[1], /2\.0 KiB of 2\.0 KiB \(100\.0%\)/);
  assert.equal(terminal.written[2], "\n");

  const piped = sink(false);
  const quiet = new Progress("get y", 10, piped);
  quiet.update(5);
  quiet.finish(10);
  assert.deepEqual(piped.written, []);
});

Deno.test("renderTopFrame() shows the gauge, objects by state and source, rates and clients", () => {
  const earlier = statsWith({ capacityBytes: 1024, numBytesSpilled: 0, numObjectsSpilled: 0 });
  const later = statsWith({
    capacityBytes: 1024,
    allocatedBytes: 512,
    numObjects: 3,
    numObjectsUnsealed: 1,
    numObjectsCreatedByWorker: 3,
    numBytesCreatedByWorker: 512,
    numObjectsSpilled: 4,
    numBytesSpilled: 4096,
    numClients: 2,
    numGetRequests: 10,
    numObjectsCreatedTotal: 4,
    numBytesCreatedTotal: 2048,
  });
  const frame = { timeMs: 0, stats: later, rates: ratesBetween(earlier, later, 2000) };
  const text = renderTopFrame("/tmp/s.sock", frame, 1000);
  assert.match(text, /^plasma top {2}\/tmp\/s\.sock {2}1970-01-01T00:00:00\.000Z {2}every 1s\n/);
  assert.match(text, /memory {3}\[#{20}\.{20}\] 50\.0% {2}512 B of 1\.0 KiB/);
  assert.match(text, /objects {2}3: 2 sealed, 1 unsealed/);
  assert.match(text, /sources {2}created_by_worker 3 \(512 B\)/);
  assert.match(text, /rates {4}get 5\.0\/s; create 2\.0\/s \(1\.0 KiB\/s\); evict 0\.0\/s/);
  assert.match(text, /spill 2\.0\/s \(2\.0 KiB\/s\)/);
  assert.match(text, /clients {2}2; 0 pending gets; 0 queued creates/);
});
