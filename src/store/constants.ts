/**
 * The store's named limits. A client that exceeds one gets an error reply naming it.
 * @module
 */

export { REQUEST_BYTES_CEILING, REQUEST_BYTES_MAX } from "../protocol/limits.ts";
/** Ids in one Get, Seal, Delete or CreateAndSeal request. */
export const IDS_PER_REQUEST_MAX = 10_000;
/** Gets waiting at once for one client. */
export const PENDING_GETS_PER_CLIENT_MAX = 1_000;
/**
 * Ids (after deduplication) in one client's waiting gets, summed: bounds their memory, not only
 * their count (each waiting id costs ~0.7 KiB of copies and index entries; a thousand gets of ten
 * thousand ids each, within both count limits, took 6 GB and crashed the store).
 */
export const PENDING_GET_IDS_PER_CLIENT_MAX = 100_000;
/** Ids in all clients' waiting gets, summed (~350 MB at most). */
export const PENDING_GET_IDS_MAX = 500_000;
/** Creates queued at once for one client, and for the whole store. */
export const QUEUED_CREATES_PER_CLIENT_MAX = 1_000;
/** Creates queued at once for the whole store. */
export const QUEUED_CREATES_MAX = 100_000;
/** Connected clients at once; more are accepted, told why, and closed. */
export const CONNECTIONS_MAX = 4_000;
/**
 * The memory clients may make the store hold outside object memory (receive buffers grown for
 * large frames, notification backlogs), all clients together, when --client-memory is not given:
 * at least this, and at least two of the largest requests (so one client alone can always send
 * the largest request, and two can at once).
 */
export const CLIENT_MEMORY_BYTES_DEFAULT_MIN = 256 * 1024 * 1024;
/** A client's share of that budget is never below this while the budget has room. */
export const CLIENT_MEMORY_SHARE_BYTES_MIN = 16 * 1024 * 1024;
/** Blocks (allocated and free) the allocator tracks: bounds the object count. */
export const ALLOCATOR_BLOCKS_MAX = 4_000_000;
/** How long a CreateRetry waits for its request to finish before answering "not yet". */
export const CREATE_RETRY_LONG_POLL_MS = 100;
/** Default retry interval of the create queue's head while the store is full. */
export const FULL_DELAY_MS_DEFAULT = 10;
/** Default time the head of the create queue may wait for memory before failing. */
export const OOM_GRACE_MS_DEFAULT = 2_000;
/** Unique id of the store's main chunk (fallback chunks get higher ids). */
export const MAIN_CHUNK_ID = 1;
/**
 * The store spins only while no task waits for a CPU (kernel PSI): spinning wins 1.3-2x on a quiet
 * machine and loses up to 6x on a busy one, where it takes the core its clients need
 * (bench/README.md, "Waiting strategy").
 */
export const LOOP_WAIT_STRATEGY_DEFAULT = "pressure";
/** When not spinning, block on the loop's own thread this long (one wake-up) before an awaited wait. */
export const LOOP_BLOCK_MS_DEFAULT = 2;
/** Fallback allocations alive at once (each holds an fd: Ray once hit the 65,535-fd limit). */
export const FALLBACK_OBJECTS_MAX = 1_000;
/** Fallback bytes alive at once, as a multiple of the store's capacity. */
export const FALLBACK_BYTES_MAX_FACTOR = 4;
/** A disk fuller than this takes no fallback allocation (Ray: 95%). */
export const DISK_FULL_FRACTION = 0.95;
/** Spill when sealed primary copies take more than this share of the capacity (Ray: 80%). */
export const SPILL_THRESHOLD_FRACTION = 0.8;
/** Objects fused into one spill file at most (Ray: 2000). */
export const SPILL_BATCH_OBJECTS_MAX = 2_000;
/**
 * Bytes written in one spill batch at most. A batch's memory is freed when the whole batch is
 * written, so a create waiting for room waits for one batch: smaller batches cut that tail.
 */
export const SPILL_BATCH_BYTES_MAX = 64 * 1024 * 1024;
/** How often the store looks for something to spill even when nothing asks (Ray spills periodically). */
export const SPILL_PERIOD_MS = 1_000;
/** How long a get with timeout 0 waits for a spilled object to be restored at most. */
export const RESTORE_WAIT_MS_MAX = 30_000;
/** After a failed spill (e.g. a full disk), wait this long before trying again. */
export const SPILL_RETRY_AFTER_FAILURE_MS = 1_000;
