/**
 * The store's counters in Prometheus' text exposition format (version 0.0.4), named by its
 * conventions: a `plasma_` prefix, base units in names (`_bytes`, `_seconds`), `_total` only on
 * counters, labels for an object's state and source. Invariant: every metric has HELP and TYPE,
 * and each label set appears once per metric.
 * @module
 */
import type { StoreStats } from "../protocol/messages.ts";
import { objectsBySource, objectsByState } from "./stats_view.ts";

/** The content type Prometheus expects for this format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

/** One metric: its name, kind, help line and samples from a stats snapshot. */
interface MetricSpec {
  name: string;
  type: "gauge" | "counter";
  help: string;
  samples(stats: StoreStats): [Labels, number][];
}

const plain = (key: keyof StoreStats) => (stats: StoreStats): [Labels, number][] => [[{}, stats[key]]];

function byState(field: "objects" | "bytes") {
  return (stats: StoreStats): [Labels, number][] =>
    Object.entries(objectsByState(stats)).map(([state, tally]) => [{ state }, tally[field]]);
}

function bySource(field: "objects" | "bytes") {
  return (stats: StoreStats): [Labels, number][] =>
    Object.entries(objectsBySource(stats)).map(([source, tally]) => [{ source }, tally[field]]);
}

/** Every metric the endpoint serves, in output order. */
export const METRICS: readonly MetricSpec[] = [
  {
    name: "plasma_memory_capacity_bytes",
    type: "gauge",
    help: "Shared memory the store may hand out.",
    samples: plain("capacityBytes"),
  },
  {
    name: "plasma_memory_allocated_bytes",
    type: "gauge",
    help: "Shared memory allocated to objects.",
    samples: plain("allocatedBytes"),
  },
  {
    name: "plasma_memory_largest_free_block_bytes",
    type: "gauge",
    help: "Largest object that fits without evicting.",
    samples: plain("largestFreeBlockBytes"),
  },
  { name: "plasma_objects", type: "gauge", help: "Objects in memory by lifecycle state.", samples: byState("objects") },
  {
    name: "plasma_objects_size_bytes",
    type: "gauge",
    help: "Bytes of objects in memory by lifecycle state.",
    samples: byState("bytes"),
  },
  {
    name: "plasma_source_objects",
    type: "gauge",
    help: "Objects in memory by where they came from.",
    samples: bySource("objects"),
  },
  {
    name: "plasma_source_size_bytes",
    type: "gauge",
    help: "Bytes of objects in memory by where they came from.",
    samples: bySource("bytes"),
  },
  {
    name: "plasma_referenced_objects",
    type: "gauge",
    help: "Objects some client holds a reference to.",
    samples: plain("numObjectsInUse"),
  },
  {
    name: "plasma_referenced_size_bytes",
    type: "gauge",
    help: "Bytes of referenced objects.",
    samples: plain("numBytesInUse"),
  },
  {
    name: "plasma_evictable_objects",
    type: "gauge",
    help: "Objects that may be evicted now.",
    samples: plain("numObjectsEvictable"),
  },
  {
    name: "plasma_evictable_size_bytes",
    type: "gauge",
    help: "Bytes that may be evicted now.",
    samples: plain("numBytesEvictable"),
  },
  {
    name: "plasma_spillable_objects",
    type: "gauge",
    help: "Primary copies that may be spilled now.",
    samples: plain("numObjectsSpillable"),
  },
  {
    name: "plasma_spillable_size_bytes",
    type: "gauge",
    help: "Bytes that may be spilled now.",
    samples: plain("numBytesSpillable"),
  },
  {
    name: "plasma_fallback_objects",
    type: "gauge",
    help: "Objects allocated in fallback files.",
    samples: plain("numObjectsFallback"),
  },
  {
    name: "plasma_fallback_size_bytes",
    type: "gauge",
    help: "Bytes allocated in fallback files.",
    samples: plain("numBytesFallback"),
  },
  {
    name: "plasma_disk_objects",
    type: "gauge",
    help: "Spilled copies on disk now.",
    samples: plain("numObjectsOnDisk"),
  },
  {
    name: "plasma_disk_size_bytes",
    type: "gauge",
    help: "Bytes of spilled copies on disk now.",
    samples: plain("numBytesOnDisk"),
  },
  { name: "plasma_spill_files", type: "gauge", help: "Spill files on disk now.", samples: plain("numSpillFiles") },
  {
    name: "plasma_restores_failed_total",
    type: "counter",
    help: "Restores from spill files that failed (file missing or damaged, I/O error) since start.",
    samples: plain("numRestoresFailed"),
  },
  // Transfers between nodes (cluster mode; zero on a single node).
  {
    name: "plasma_pulled_objects_total",
    type: "counter",
    help: "Objects pulled from other nodes since start.",
    samples: plain("numObjectsPulled"),
  },
  {
    name: "plasma_pulled_bytes_total",
    type: "counter",
    help: "Bytes pulled from other nodes since start.",
    samples: plain("numBytesPulled"),
  },
  {
    name: "plasma_pushed_objects_total",
    type: "counter",
    help: "Objects sent to other nodes since start.",
    samples: plain("numObjectsPushed"),
  },
  {
    name: "plasma_pushed_bytes_total",
    type: "counter",
    help: "Bytes sent to other nodes since start.",
    samples: plain("numBytesPushed"),
  },
  { name: "plasma_pulls_in_flight", type: "gauge", help: "Pulls admitted now.", samples: plain("numPullsInFlight") },
  {
    name: "plasma_pulling_bytes",
    type: "gauge",
    help: "Bytes of admitted pulls not yet sealed.",
    samples: plain("numBytesPulling"),
  },
  {
    name: "plasma_pulls_failed_total",
    type: "counter",
    help: "Pulls that failed on every holder until their deadline, since start.",
    samples: plain("numPullsFailed"),
  },
  {
    name: "plasma_peers_rejected_total",
    type: "counter",
    help: "Peer connections closed for failing authentication or breaking the protocol, since start.",
    samples: plain("numPeersRejected"),
  },
  {
    name: "plasma_serve_errors_total",
    type: "counter",
    help: "Connections closed because serving them threw (a store bug contained to that client) since start.",
    samples: plain("numServeErrors"),
  },
  {
    name: "plasma_client_memory_refusals_total",
    type: "counter",
    help: "Clients closed because they would have held more than their share of the client memory budget, since start.",
    samples: plain("numClientMemoryRefusals"),
  },
  {
    name: "plasma_client_memory_bytes",
    type: "gauge",
    help: "Bytes clients make the store hold outside object memory (grown receive buffers, notification backlogs).",
    samples: plain("clientMemoryBytes"),
  },
  {
    name: "plasma_clients",
    type: "gauge",
    help: "Connected clients, not counting this endpoint.",
    samples: plain("numClients"),
  },
  {
    name: "plasma_pending_gets",
    type: "gauge",
    help: "Get requests waiting for objects.",
    samples: plain("numPendingGets"),
  },
  {
    name: "plasma_queued_creates",
    type: "gauge",
    help: "Create requests waiting for memory.",
    samples: plain("numQueuedCreates"),
  },
  {
    name: "plasma_get_requests_total",
    type: "counter",
    help: "Get requests received since start (each answered once unless its client left first).",
    samples: plain("numGetRequests"),
  },
  {
    name: "plasma_created_objects_total",
    type: "counter",
    help: "Objects created since start, from any source.",
    samples: plain("numObjectsCreatedTotal"),
  },
  {
    name: "plasma_created_bytes_total",
    type: "counter",
    help: "Bytes of objects created since start.",
    samples: plain("numBytesCreatedTotal"),
  },
  {
    name: "plasma_evicted_objects_total",
    type: "counter",
    help: "Objects evicted since start.",
    samples: plain("numObjectsEvicted"),
  },
  {
    name: "plasma_evicted_bytes_total",
    type: "counter",
    help: "Bytes evicted since start.",
    samples: plain("numBytesEvicted"),
  },
  {
    name: "plasma_spilled_objects_total",
    type: "counter",
    help: "Objects spilled to disk since start.",
    samples: plain("numObjectsSpilled"),
  },
  {
    name: "plasma_spilled_bytes_total",
    type: "counter",
    help: "Bytes spilled to disk since start.",
    samples: plain("numBytesSpilled"),
  },
  {
    name: "plasma_restored_objects_total",
    type: "counter",
    help: "Objects restored from disk since start.",
    samples: plain("numObjectsRestoredFromDisk"),
  },
  {
    name: "plasma_restored_bytes_total",
    type: "counter",
    help: "Bytes restored from disk since start.",
    samples: plain("numBytesRestoredFromDisk"),
  },
];

/**
 * The exposition text for one stats snapshot, plus how long reading it took.
 * @param stats the snapshot (clients already exclude the endpoint's own connection)
 * @param scrapeSeconds how long the snapshot took to read from the store
 */
export function prometheusText(stats: StoreStats, scrapeSeconds: number): string {
  const lines: string[] = [];
  const extra: MetricSpec = {
    name: "plasma_stats_read_duration_seconds",
    type: "gauge",
    help: "How long reading the store's stats took for this scrape.",
    samples: () => [[{}, scrapeSeconds]],
  };
  for (const metric of [...METRICS, extra]) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
    for (const [labels, value] of metric.samples(stats)) lines.push(`${metric.name}${formatLabels(labels)} ${value}`);
  }
  return `${lines.join("\n")}\n`;
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

/** Label values escape backslash, double quote and newline (the format's only escapes). */
function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
