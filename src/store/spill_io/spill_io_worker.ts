/**
 * The spill I/O Worker: writes objects from the store's shared memory into spill files and reads
 * them back, so the store's loop never waits on a disk. It maps the store's chunks itself (fd
 * numbers are shared by the threads of one process) and copies without intermediate buffers.
 * Invariant: a failed spill leaves no partial file behind.
 * @module
 */
/// <reference lib="deno.worker" />
import { SharedMemoryChunk } from "../../../ffi/shared_memory.ts";
import type { ChunkInfo } from "../local_object.ts";
import { mib } from "../units.ts";
import type { FromSpillWorker, RestoreTarget, SpillSource, ToSpillWorker } from "./messages.ts";
import {
  decodeSpillHeader,
  encodeSpillHeader,
  encodeSpillUrl,
  parseSpillUrl,
  SPILL_HEADER_BYTES,
} from "./spill_format.ts";

const chunks = new Map<number, SharedMemoryChunk>();
/** The Worker's own channel, or the port the store's Worker talks through. */
let replies: { postMessage(message: FromSpillWorker): void } = self;

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

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
}

function spill(directory: string, objects: SpillSource[]): { path: string; urls: string[] } {
  const path = `${directory}/plasma-spill-${crypto.randomUUID()}.bin`;
  const urls: string[] = [];
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
    let offset = 0;
    for (const object of objects) {
      const size = SPILL_HEADER_BYTES + object.ownerAddress.length + object.metadataSize + object.dataSize;
      writeAll(file, encodeSpillHeader(object.ownerAddress.length, object.metadataSize, object.dataSize));
      writeAll(file, object.ownerAddress);
      writeAll(file, bytesOf(object.chunkId, object.offset + object.dataSize, object.metadataSize));
      writeAll(file, bytesOf(object.chunkId, object.offset, object.dataSize));
      urls.push(encodeSpillUrl(path, offset, size));
      offset += size;
    }
    file.close();
    file = undefined;
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

function restore(url: string, target: RestoreTarget): void {
  const location = parseSpillUrl(url);
  using file = Deno.openSync(location.path, { read: true });
  file.seekSync(location.offset, Deno.SeekMode.Start);
  const header = new Uint8Array(SPILL_HEADER_BYTES);
  readExactly(file, header);
  const [ownerBytes, metadataBytes, dataBytes] = decodeSpillHeader(header);
  if (metadataBytes !== target.metadataSize || dataBytes !== target.dataSize) {
    throw new Error(
      `spilled object at ${url} has ${dataBytes}+${metadataBytes} bytes, expected ${target.dataSize}+${target.metadataSize}`,
    );
  }
  file.seekSync(ownerBytes, Deno.SeekMode.Current);
  readExactly(file, bytesOf(target.chunkId, target.offset + target.dataSize, metadataBytes));
  readExactly(file, bytesOf(target.chunkId, target.offset, dataBytes));
}

function readExactly(file: Deno.FsFile, into: Uint8Array): void {
  for (let done = 0; done < into.length;) {
    const read = file.readSync(into.subarray(done));
    if (read === null) throw new Error("spill file ends early");
    done += read;
  }
}

function handle(message: Exclude<ToSpillWorker, { type: "port" }>): void {
  if (message.type === "init") return mapChunks(message.chunks);
  if (message.type === "close") {
    for (const chunk of chunks.values()) chunk.close();
    chunks.clear();
    return post({ type: "closed" });
  }
  try {
    if (message.type === "spill") {
      post({ type: "spilled", requestId: message.requestId, ...spill(message.directory, message.objects) });
    } else if (message.type === "restore") {
      restore(message.url, message.target);
      post({ type: "restored", requestId: message.requestId });
    } else if (message.type === "delete") {
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

self.onmessage = (event: MessageEvent<ToSpillWorker>) => {
  const message = event.data;
  if (message.type !== "port") return handle(message);
  replies = message.port;
  message.port.onmessage = (portEvent: MessageEvent<Exclude<ToSpillWorker, { type: "port" }>>) =>
    handle(portEvent.data);
};
