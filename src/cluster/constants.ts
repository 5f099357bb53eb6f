/**
 * Every limit and period of the cluster (directory, membership, transfers) in one place; the
 * relations between them are checked below, so a change that breaks one fails at load.
 * @module
 */

/** Prefix of every Redis key the directory writes, so one Redis can hold other data too. */
export const KEY_PREFIX = "plasma:";
/** How often a node renews its membership key. */
export const HEARTBEAT_INTERVAL_MS = 500;
/** A node whose membership key was not renewed for this long is dead: its locations are removed. */
export const NODE_TTL_MS = 2_000;
/** Location changes kept in the stream (approximate trim); a follower further behind re-reads. */
export const EVENTS_STREAM_LENGTH_MAX = 100_000;
/** How long one blocking read of the location stream waits before it loops. */
export const EVENTS_BLOCK_MS = 1_000;
/**
 * A directory command not answered in this long (beyond a stream read's own block) means its
 * connection is wedged: the socket looks open but nothing comes back (seen once Redis restarted
 * under a node: its client never saw the old connection close). The connection is replaced.
 */
export const DIRECTORY_REPLY_DEADLINE_MS = 2_000;
/** Location changes wait this long to be published together (fewer round trips under load). */
export const PUBLISH_DELAY_MS = 20;
/** Location changes published in one Redis round trip. */
export const PUBLISH_BATCH_MAX = 2_000;

/** Bytes of object data per chunk frame on the wire (Ray uses 5 MiB; see bench/README.md). */
export const CHUNK_BYTES = 4 * 1024 * 1024;
/** Objects at least this large are relayed in a broadcast: a holder already streaming one to a
 * node redirects the next puller to the last node of that chain (each node uploads ~1 stream). */
export const RELAY_BYTES_MIN = 4 * CHUNK_BYTES;
/** Bench knob, not a tuning setting: `PLASMA_RELAY=off` in a store's environment makes its holder
 * stream every pull itself (no redirects), so bench/cluster_netns_bench.ts can time a broadcast
 * with and without the relay chain on the same links. */
export const RELAY_ENABLED = relayFromEnvironment();

function relayFromEnvironment(): boolean {
  try {
    return Deno.env.get("PLASMA_RELAY") !== "off";
  } catch {
    return true; // no env permission: the default
  }
}
/** Largest FlatBuffers header a peer may send; bigger frames close the connection. */
export const FRAME_HEADER_BYTES_MAX = 64 * 1024;
/** Bytes of one HMAC challenge nonce. */
export const NONCE_BYTES = 32;
/** A peer that has not authenticated within this long is disconnected. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Pull requests one store get answers (those that arrived together on one peer connection). */
export const SERVE_BATCH_REQUESTS_MAX = 1_000;
/** Bytes a node may have in flight from one peer (admitted pulls not yet sealed). */
export const PEER_BYTES_IN_FLIGHT_MAX = 2 * 1024 * 1024 * 1024;
/** Small pulled objects stored with one CreateAndSeal: at most this many bytes (well under the
 * store's smallest request limit, 16 MiB) and this many objects per batch. */
export const RECEIVED_BATCH_BYTES_MAX = 4 * 1024 * 1024;
export const RECEIVED_BATCH_OBJECTS_MAX = 1_000;
/** Pulls of large objects a node runs at once (all peers). */
export const PULLS_ACTIVE_MAX = 64;
/** Pulls a node runs at once counting small ones (<= SMALL_PULL_BYTES_MAX): their answers travel
 * many per write and are stored many per CreateAndSeal, so more in flight means bigger batches. */
export const SMALL_PULLS_ACTIVE_MAX = 1_000;
/** A pull of at most this many bytes is small: read through the JS heap and stored in a batch. */
export const SMALL_PULL_BYTES_MAX = 64 * 1024;
/** A transfer that makes no progress for this long is abandoned and retried from another holder. */
export const TRANSFER_STALL_MS = 5_000;
/** A pull that found no holder, or failed on every holder, gives up after this long. */
export const PULL_DEADLINE_MS = 60_000;
/** Pause before a failed pull is tried again (doubled per attempt, up to the deadline). */
export const PULL_RETRY_DELAY_MS = 50;
/** Longest id list one fetch or one wanted-objects event may carry. */
export const IDS_PER_REQUEST_MAX = 100_000;

if (NODE_TTL_MS < 3 * HEARTBEAT_INTERVAL_MS) throw new Error("NODE_TTL_MS must cover three missed heartbeats");
if (DIRECTORY_REPLY_DEADLINE_MS > NODE_TTL_MS) {
  throw new Error("a wedged directory connection must be cut before the node expires");
}
if (CHUNK_BYTES > PEER_BYTES_IN_FLIGHT_MAX) throw new Error("a chunk must fit in the per-peer window");
if (SMALL_PULLS_ACTIVE_MAX < PULLS_ACTIVE_MAX) throw new Error("small pulls may not be capped below large ones");
if (SMALL_PULL_BYTES_MAX > RECEIVED_BATCH_BYTES_MAX) throw new Error("one small pulled object must fit a batch");
