/** Unit tests of the observability helpers: derived figures, exposition text, the address flag. */
import assert from "node:assert/strict";
import { originOf, parseMetricsAddress } from "./metrics_address.ts";
import { METRICS, prometheusText } from "./prometheus_text.ts";
import { statsWith } from "./_stats_fixture.ts";
import { excludingObserver, objectsBySource, objectsByState, ratesBetween, sourceLabel } from "./stats_view.ts";

Deno.test("objects by state partition the objects; by source follows the source counters", () => {
  const stats = statsWith({
    numObjects: 5,
    numObjectsUnsealed: 2,
    numBytesUnsealed: 30,
    numObjectsCreatedByWorker: 4,
    numBytesCreatedByWorker: 100,
    numObjectsRestored: 1,
    numBytesRestored: 50,
  });
  const states = objectsByState(stats);
  assert.deepEqual(states, { sealed: { objects: 3, bytes: 120 }, unsealed: { objects: 2, bytes: 30 } });
  assert.equal(states.sealed.objects + states.unsealed.objects, stats.numObjects);
  const sources = objectsBySource(stats);
  assert.deepEqual(sources.created_by_worker, { objects: 4, bytes: 100 });
  assert.deepEqual(sources.restored_from_storage, { objects: 1, bytes: 50 });
  assert.equal(sourceLabel("ReceivedFromRemoteRaylet"), "received_from_remote");
  assert.equal(sourceLabel("Unknown7"), "Unknown7");
});

Deno.test("ratesBetween() divides each total's growth by the elapsed time; a reset counts from zero", () => {
  const earlier = statsWith({
    numBytesCreatedTotal: 1000,
    numObjectsSpilled: 10,
    numObjectsRestoredFromDisk: 50,
    numGetRequests: 7,
    numObjectsCreatedTotal: 2,
  });
  const later = statsWith({
    numBytesCreatedTotal: 3000,
    numObjectsSpilled: 14,
    numObjectsRestoredFromDisk: 5,
    numGetRequests: 13,
    numObjectsCreatedTotal: 3,
  });
  const rates = ratesBetween(earlier, later, 2000);
  assert.equal(rates.createdBytesPerSecond, 1000);
  assert.equal(rates.getRequestsPerSecond, 3);
  assert.equal(rates.createdObjectsPerSecond, 0.5);
  assert.equal(rates.spilledObjectsPerSecond, 2);
  assert.equal(rates.restoredObjectsPerSecond, 2.5);
  assert.equal(ratesBetween(earlier, later, 0).createdBytesPerSecond, 0);
});

Deno.test("excludingObserver() does not count the observer's own connection and never goes below zero", () => {
  assert.equal(excludingObserver(statsWith({ numClients: 3 })).numClients, 2);
  assert.equal(excludingObserver(statsWith({ numClients: 0 })).numClients, 0);
});

Deno.test("every metric follows Prometheus naming: _total only on counters, units in names, unique", () => {
  const names = METRICS.map((metric) => metric.name);
  assert.equal(new Set(names).size, names.length);
  for (const metric of METRICS) {
    assert.match(metric.name, /^plasma_[a-z_]+$/);
    assert.equal(metric.name.endsWith("_total"), metric.type === "counter", metric.name);
    if (/Bytes|bytes/.test(metric.help) && metric.type === "gauge") assert.match(metric.name, /_bytes$/, metric.name);
  }
  const text = prometheusText(statsWith({ numObjects: 2, capacityBytes: 64 }), 0.0001);
  assert.match(
    text,
    /^# HELP plasma_memory_capacity_bytes .+\n# TYPE plasma_memory_capacity_bytes gauge\nplasma_memory_capacity_bytes 64\n/,
  );
  assert.match(text, /\nplasma_objects\{state="sealed"\} 2\n/);
  assert.match(text, /\nplasma_stats_read_duration_seconds 0\.0001\n$/);
});

Deno.test("parseMetricsAddress() takes HOST:PORT, bracketed IPv6, port 0; refuses anything else by name", () => {
  assert.deepEqual(parseMetricsAddress("127.0.0.1:9100"), { hostname: "127.0.0.1", port: 9100 });
  assert.deepEqual(parseMetricsAddress("localhost:0"), { hostname: "localhost", port: 0 });
  assert.deepEqual(parseMetricsAddress("[::1]:80"), { hostname: "::1", port: 80 });
  assert.equal(originOf({ hostname: "::1", port: 80 }), "http://[::1]:80");
  for (const bad of ["", "9100", ":9100", "host:", "host:65536", "a:b:1", "host:12ab", "[::1]", "a b:1"]) {
    assert.throws(() => parseMetricsAddress(bad), /--metrics-address takes HOST:PORT/, bad);
  }
});
