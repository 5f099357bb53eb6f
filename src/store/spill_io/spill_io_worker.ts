/**
 * The spill I/O Worker: writes objects from the store's shared memory into spill files and reads
 * them back, so the store's loop never waits on a disk. It maps the store's chunks itself (fd
 * numbers are shared by the threads of one process) and copies without intermediate buffers.
 * Each object's record is checksummed (XXH3) as it is written and verified as it is read back.
 * Invariants: a failed spill leaves no partial file behind; a restore that cannot return the
 * exact bytes spilled (changed, cut short, missing file) fails instead of filling the object.
 * @module
 */
/// <reference lib="deno.worker" />
import { hash64, RecordHashQueue, StreamingHash } from "../../../ffi/checksum.ts";
import { SharedMemoryChunk } from "../../../ffi/shared_memory.ts";
import { CpuPressure, PRESSURE_STALL_FRACTION_MAX, PRESSURE_WINDOW_MS } from "../../net/cpu_pressure.ts";
import type { ChunkInfo } from "../local_object.ts";
import { mib } from "../units.ts";
import type {
  FromSpillWorker,
  HelperHashPolicy,
  RestoreItem,
  RestoreTarget,
  SpillSource,
  ToSpillWorker,
} from "./messages.ts";
import {
  checkSpillHeader,
  encodeSpillHeader,
  encodeSpillUrl,
  parseSpillUrl,
  SPILL_HEADER_BYTES,
  type SpillLocation,
} from "./spill_format.ts";
import { newSpillFilePath, removeDeadSpillFiles } from "./spill_files.ts";

const chunks = new Map<number, SharedMemoryChunk>();
/** This store instance's name in its spill files' names. */
let instance = "";
/** Spill files this instance wrote and has not deleted: removed when the store stops. */
const ownFiles = new Set<string>();
/** Directories spilled into; dead stores' files in each are removed on first use. */
const directories = new Set<string>();
/** The Worker's own channel, or the port the store's Worker talks through. */
let replies: { postMessage(message: FromSpillWorker): void } = self as { postMessage(message: FromSpillWorker): void };

/** Whether this thread serves a store (see serveSpillIo). */
let serving = false;

function post(message: FromSpillWorker): void {
  replies.postMessage(message);
}

function mapChunks(infos: ChunkInfo[]): void {
  // Populated: the first spill of a store would otherwise pay a page fault per 4 KiB (~2.7x slower).
  for (const info of infos) chunks.set(info.id, SharedMemoryChunk.map(info.fd, info.sizeBytes, { populate: true }));
}

function bytesOf(chunkId: number, offset: number, length: number): Uint8Array {
  const chunk = chunks.get(chunkId);
  if (chunk === undefined) throw new Error(`chunk ${chunkId} is not mapped`);
  return chunk.bytes().subarray(offset, offset + length);
}

/**
 * Bytes hashed and then moved at a time: small enough to stay in a core's L2 cache between the
 * hash and the copy, so each byte crosses the memory bus once (a whole 4 MiB object hashed and
 * then written was read from memory twice).
 */
const PIECE_BYTES = 256 * 1024;

/** The Worker's one hash state (it handles one request at a time). */
let hashState: StreamingHash | undefined;

function hasher(seed: bigint): StreamingHash {
  hashState ??= new StreamingHash();
  hashState.reset(seed);
  return hashState;
}

/**
 * Records at least this large, when more of the batch follows, have their checksum computed on a
 * helper thread (RecordHashQueue) while the next record is written or read; smaller ones and a
 * batch's last record are hashed in line, where a hand-off would cost more than the hash.
 */
const QUEUED_HASH_BYTES_MIN = 256 * 1024;

/** The thread's record hash queue, made on first use (its helper thread sleeps when idle). */
let recordHashes: RecordHashQueue | undefined;

function hashQueue(): RecordHashQueue {
  return recordHashes ??= new RecordHashQueue();
}

/**
 * The helper hashes on a second core only while no task waits for a CPU: when every core is
 * wanted (clients copying objects, other processes), a second spill thread would take a core from
 * them and make the store's clients slower (measured: create latency in a full store 1.5-1.8x).
 */
const cpuPressure = new CpuPressure(PRESSURE_WINDOW_MS, PRESSURE_STALL_FRACTION_MAX);

let helperHash: HelperHashPolicy = "auto";

/** Whether the record at `position` of a batch of `count` has its checksum queued. */
function hashQueued(recordBytes: number, position: number, count: number): boolean {
  if (helperHash === "never" || recordBytes < QUEUED_HASH_BYTES_MIN || position === count - 1) return false;
  return helperHash === "always" || !cpuPressure.high(performance.now());
}

/** The queued checksums of this batch, in submission order (empty when none were queued). */
function queuedChecksums(): bigint[] {
  return recordHashes?.wait() ?? [];
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
}

/** Writes `bytes` and returns the checksum chained through it (seeded by the previous part's). */
function writeSummed(file: Deno.FsFile, bytes: Uint8Array, seed: bigint): bigint {
  const hash = hasher(seed);
  for (let start = 0; start < bytes.length; start += PIECE_BYTES) {
    const piece = bytes.subarray(start, start + PIECE_BYTES);
    hash.update(piece);
    writeAll(file, piece);
  }
  return hash.digest();
}

/** Fills `into` from the file and returns the checksum chained through it. */
function readSummed(file: Deno.FsFile, into: Uint8Array, seed: bigint, url: string): bigint {
  const hash = hasher(seed);
  for (let start = 0; start < into.length; start += PIECE_BYTES) {
    const piece = into.subarray(start, start + PIECE_BYTES);
    readExactly(file, piece, url);
    hash.update(piece);
  }
  return hash.digest();
}

function spill(directory: string, objects: SpillSource[]): { path: string; urls: string[] } {
  if (!directories.has(directory)) {
    directories.add(directory);
    removeDeadSpillFiles(directory);
  }
  const path = newSpillFilePath(directory, instance);
  const urls: string[] = [];
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
    const records = objects.map((object, position) => writeRecord(file!, object, position, objects.length));
    const queued = queuedChecksums();
    let offset = 0;
    for (const { size, checksum } of records) {
      urls.push(
        encodeSpillUrl({ path, offset, size, checksum: typeof checksum === "bigint" ? checksum : queued[checksum] }),
      );
      offset += size;
    }
    file.close();
    file = undefined;
    ownFiles.add(path);
    return { path, urls };
  } catch (error) {
    queuedChecksums(); // the failed batch's jobs finish: the next batch starts empty
    file?.close();
    try {
      Deno.removeSync(path);
    } catch { /* never created */ }
    const total = objects.reduce((sum, object) => sum + object.dataSize + object.metadataSize, 0);
    throw new Error(
      `cannot spill ${objects.length} objects (${mib(total)}) to ${directory}: ${(error as Error).message}`,
    );
  }
}

/**
 * Writes one object's record; returns its size and its checksum, or the checksum's index among
 * the batch's queued ones.
 */
function writeRecord(
  file: Deno.FsFile,
  object: SpillSource,
  position: number,
  count: number,
): { size: number; checksum: bigint | number } {
  const owner = object.ownerAddress;
  const size = SPILL_HEADER_BYTES + owner.length + object.metadataSize + object.dataSize;
  const header = encodeSpillHeader(owner.length, object.metadataSize, object.dataSize);
  const metadata = bytesOf(object.chunkId, object.offset + object.dataSize, object.metadataSize);
  const data = bytesOf(object.chunkId, object.offset, object.dataSize);
  // Hashed on the helper while it is written, unless the queue refuses it.
  const queued = hashQueued(size, position, count) ? hashQueue().submit(header, owner, metadata, data) : null;
  if (queued !== null) {
    for (const part of [header, owner, metadata, data]) writeAll(file, part);
    return { size, checksum: queued };
  }
  let checksum = writeSummed(file, header, 0n);
  for (const part of [owner, metadata, data]) checksum = writeSummed(file, part, checksum);
  return { size, checksum };
}

/**
 * Restores every item, in file and offset order so each file is opened once and read forward;
 * one item's failure does not stop the others.
 */
function restoreAll(items: RestoreItem[]): { requestId: number; error?: string }[] {
  const located = items.map((item) => ({ item, location: locate(item.url) }))
    .sort((a, b) => a.location.path.localeCompare(b.location.path) || a.location.offset - b.location.offset);
  const files = new Map<string, Deno.FsFile | Error>();
  /** Items read whose checksum was queued: checked once the batch's checksums are in. */
  const unchecked: { position: number; queuedIndex: number }[] = [];
  try {
    const results: { requestId: number; error?: string }[] = located.map(({ item, location }, position) => {
      try {
        if (location.error !== undefined) throw location.error;
        const file = openOnce(files, location.path, item.url);
        const queued = hashQueued(location.size, position, located.length);
        const queuedIndex = restore(item.url, location, item.target, file, queued);
        if (queuedIndex !== null) unchecked.push({ position, queuedIndex });
        return { requestId: item.requestId };
      } catch (error) {
        return { requestId: item.requestId, error: (error as Error).message };
      }
    });
    const checksums = queuedChecksums();
    for (const { position, queuedIndex } of unchecked) {
      const { item, location } = located[position];
      const error = checksumError(item.url, location, checksums[queuedIndex]);
      if (error !== null) results[position] = { requestId: item.requestId, error };
    }
    return results; // each item's failure is caught above, so every batch reaches queuedChecksums
  } finally {
    for (const file of files.values()) if (!(file instanceof Error)) file.close();
  }
}

/** The item's location, or (sorted first, failed alone) the reason its URL cannot be read. */
function locate(url: string): SpillLocation & { error?: Error } {
  try {
    return parseSpillUrl(url);
  } catch (error) {
    return { path: "", offset: 0, size: 0, checksum: 0n, error: error as Error };
  }
}

function openOnce(files: Map<string, Deno.FsFile | Error>, path: string, url: string): Deno.FsFile {
  let file = files.get(path);
  if (file === undefined) {
    try {
      file = Deno.openSync(path, { read: true });
    } catch (error) {
      file = new Error(`spill file of ${url} cannot be opened: ${(error as Error).message}`);
    }
    files.set(path, file);
  }
  if (file instanceof Error) throw file;
  return file;
}

/**
 * Reads the object at `url` into `target`, checking its sizes, and its checksum unless `queued`:
 * then the checksum is queued and its index returned, to be checked when the batch's are in.
 * Throws naming the damage.
 */
function restore(
  url: string,
  location: SpillLocation,
  target: RestoreTarget,
  file: Deno.FsFile,
  queued: boolean,
): number | null {
  file.seekSync(location.offset, Deno.SeekMode.Start);
  const header = new Uint8Array(SPILL_HEADER_BYTES);
  readExactly(file, header, url);
  const [ownerBytes, metadataBytes, dataBytes] = checkSpillHeader(header, url, location, target, (m) => new Error(m));
  const owner = new Uint8Array(ownerBytes);
  const metadata = bytesOf(target.chunkId, target.offset + target.dataSize, metadataBytes);
  const data = bytesOf(target.chunkId, target.offset, dataBytes);
  if (queued) {
    for (const part of [owner, metadata, data]) readExactly(file, part, url);
    const index = hashQueue().submit(header, owner, metadata, data); // hashed while the next is read
    if (index !== null) return index;
    return verifyInLine(url, location, [header, owner, metadata, data]);
  }
  let checksum = hash64(header);
  for (const part of [owner, metadata, data]) checksum = readSummed(file, part, checksum, url);
  const error = checksumError(url, location, checksum);
  if (error !== null) throw new Error(error);
  return null;
}

/** Checks a record already read against its checksum, hashing it here (the queue refused it). */
function verifyInLine(url: string, location: SpillLocation, parts: Uint8Array[]): null {
  const checksum = parts.reduce((seed, part) => hash64(part, seed), 0n);
  const error = checksumError(url, location, checksum);
  if (error !== null) throw new Error(error);
  return null;
}

/** Why a record whose bytes hash to `checksum` is not the one spilled, or null when it is. */
function checksumError(url: string, location: SpillLocation, checksum: bigint): string | null {
  if (checksum === location.checksum) return null;
  return `spilled object at ${url} is damaged: checksum ${checksum.toString(16).padStart(16, "0")} does not match`;
}

function readExactly(file: Deno.FsFile, into: Uint8Array, url: string): void {
  for (let done = 0; done < into.length;) {
    const read = file.readSync(into.subarray(done));
    if (read === null) throw new Error(`spill file of ${url} is cut short`);
    done += read;
  }
}

/** At a clean stop: this instance's files (their objects die with the store) and dead stores' files go. */
function removeFilesAtStop(): void {
  for (const path of ownFiles) {
    try {
      Deno.removeSync(path);
    } catch { /* already gone */ }
  }
  ownFiles.clear();
  for (const directory of directories) removeDeadSpillFiles(directory);
}

function handle(message: Exclude<ToSpillWorker, { type: "port" }>): void {
  if (message.type === "init") {
    instance = message.instance;
    helperHash = message.helperHash ?? "auto";
    return mapChunks(message.chunks);
  }
  if (message.type === "close") {
    removeFilesAtStop();
    recordHashes?.close(); // before the chunks its jobs point into are unmapped
    recordHashes = undefined;
    cpuPressure.close();
    for (const chunk of chunks.values()) chunk.close();
    chunks.clear();
    hashState?.close();
    hashState = undefined;
    post({ type: "closed" });
    serving = false;
    return;
  }
  if (message.type === "restore") return post({ type: "restored", results: restoreAll(message.items) });
  try {
    if (message.type === "spill") {
      post({ type: "spilled", requestId: message.requestId, ...spill(message.directory, message.objects) });
    } else if (message.type === "delete") {
      ownFiles.delete(message.path);
      try {
        Deno.removeSync(message.path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      post({ type: "deleted", requestId: message.requestId });
    }
  } catch (error) {
    post({ type: "failed", requestId: message.requestId, message: (error as Error).message });
  }
}

/**
 * Serves spill I/O through `port` on the thread that imports this module, one store at a time
 * (false when it serves one already):
 * a single node's main thread, idle once the store runs, saves the Worker's isolate (~60-100 ms of
 * CPU at each start, docs/startup.md). The store's loop still never waits on a disk.
 */
export function serveSpillIo(port: MessagePort): boolean {
  if (serving) return false; // this thread serves another store until it closes
  serving = true;
  replies = port;
  port.onmessage = (event: MessageEvent<Exclude<ToSpillWorker, { type: "port" }>>) => handle(event.data);
  return true;
}

// Run as a Worker: requests come on the Worker's own channel or on a port it is handed.
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  self.onmessage = (event: MessageEvent<ToSpillWorker>) => {
    const message = event.data;
    if (message.type !== "port") return handle(message);
    serveSpillIo(message.port);
  };
}
