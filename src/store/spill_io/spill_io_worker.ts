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
import { StreamingHash } from "../../../ffi/checksum.ts";
import { SharedMemoryChunk } from "../../../ffi/shared_memory.ts";
import type { ChunkInfo } from "../local_object.ts";
import { mib } from "../units.ts";
import type { FromSpillWorker, RestoreItem, RestoreTarget, SpillSource, ToSpillWorker } from "./messages.ts";
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
    let offset = 0;
    for (const object of objects) {
      const size = SPILL_HEADER_BYTES + object.ownerAddress.length + object.metadataSize + object.dataSize;
      const header = encodeSpillHeader(object.ownerAddress.length, object.metadataSize, object.dataSize);
      let checksum = writeSummed(file, header, 0n);
      checksum = writeSummed(file, object.ownerAddress, checksum);
      checksum = writeSummed(
        file,
        bytesOf(object.chunkId, object.offset + object.dataSize, object.metadataSize),
        checksum,
      );
      checksum = writeSummed(file, bytesOf(object.chunkId, object.offset, object.dataSize), checksum);
      urls.push(encodeSpillUrl({ path, offset, size, checksum }));
      offset += size;
    }
    file.close();
    file = undefined;
    ownFiles.add(path);
    return { path, urls };
  } catch (error) {
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
 * Restores every item, in file and offset order so each file is opened once and read forward;
 * one item's failure does not stop the others.
 */
function restoreAll(items: RestoreItem[]): { requestId: number; error?: string }[] {
  const located = items.map((item) => ({ item, location: locate(item.url) }))
    .sort((a, b) => a.location.path.localeCompare(b.location.path) || a.location.offset - b.location.offset);
  const files = new Map<string, Deno.FsFile | Error>();
  try {
    return located.map(({ item, location }) => {
      try {
        if (location.error !== undefined) throw location.error;
        restore(item.url, location, item.target, openOnce(files, location.path, item.url));
        return { requestId: item.requestId };
      } catch (error) {
        return { requestId: item.requestId, error: (error as Error).message };
      }
    });
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

/** Reads the object at `url` into `target`, checking its sizes and checksum; throws naming the damage. */
function restore(url: string, location: SpillLocation, target: RestoreTarget, file: Deno.FsFile): void {
  file.seekSync(location.offset, Deno.SeekMode.Start);
  const header = new Uint8Array(SPILL_HEADER_BYTES);
  readExactly(file, header, url);
  const [ownerBytes, metadataBytes, dataBytes] = checkSpillHeader(header, url, location, target, (m) => new Error(m));
  const owner = new Uint8Array(ownerBytes);
  const metadata = bytesOf(target.chunkId, target.offset + target.dataSize, metadataBytes);
  const data = bytesOf(target.chunkId, target.offset, dataBytes);
  const headerHash = hasher(0n);
  headerHash.update(header);
  let checksum = headerHash.digest();
  for (const part of [owner, metadata, data]) checksum = readSummed(file, part, checksum, url);
  if (checksum !== location.checksum) {
    throw new Error(
      `spilled object at ${url} is damaged: checksum ${checksum.toString(16).padStart(16, "0")} does not match`,
    );
  }
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
    return mapChunks(message.chunks);
  }
  if (message.type === "close") {
    removeFilesAtStop();
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
