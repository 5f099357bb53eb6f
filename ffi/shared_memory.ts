/**
 * Shared-memory chunks: create an fd-backed region (memfd or unlinked file), or map a received
 * fd, and view it zero-copy. Unmapping detaches the cached view, so stale reads see an empty
 * buffer instead of faulting.
 * @module
 */
import { cString } from "./_buffers.ts";
import { native } from "./library.ts";
import { unwrap } from "./status.ts";

/** Chunk flag bits (ffi/zig/shm.zig's flag_*): pre-fault the mapping, */
export const CHUNK_FLAG_POPULATE = 1;
/** back it with huge pages, */
export const CHUNK_FLAG_HUGEPAGES = 2;
/** reserve its disk blocks first, */
export const CHUNK_FLAG_FALLOCATE = 4;
/** map it read-only. */
export const CHUNK_FLAG_READ_ONLY = 8;

/** Where a chunk's memory comes from. */
export type ChunkKind = "memfd" | "file";

/** Options for {@linkcode SharedMemoryChunk.create}. */
export interface ChunkCreateOptions {
  /** memfd (default) or an unlinked file in `directory`. */
  kind?: ChunkKind;
  /** Directory for file chunks (default /dev/shm); a hugetlbfs mount for huge pages. */
  directory?: string;
  /** Pre-fault every page now (MAP_POPULATE). */
  populate?: boolean;
  /** Use huge pages (memfd with MFD_HUGETLB; size rounded up to 2 MiB). */
  hugepages?: boolean;
  /** Reserve the blocks now (fallocate), so a full disk fails here instead of with SIGBUS. */
  fallocate?: boolean;
}

/** Options for {@linkcode SharedMemoryChunk.map}. */
export interface ChunkMapOptions {
  /** Pre-fault every page now (MAP_POPULATE). */
  populate?: boolean;
  /** Map read-only. */
  readOnly?: boolean;
}

/** One mapped fd-backed region. */
export class SharedMemoryChunk {
  /** The fd backing the region (owned by this chunk when it created or adopted it). */
  readonly fd: number;
  /** Mapped length in bytes. */
  readonly sizeBytes: number;
  /** Start address of the mapping. */
  readonly address: bigint;
  readonly #ownsFd: boolean;
  #buffer: ArrayBuffer | undefined;
  #mapped = true;

  private constructor(mapping: BigInt64Array, ownsFd: boolean) {
    this.address = BigInt.asUintN(64, mapping[0]);
    this.fd = Number(mapping[1]);
    this.sizeBytes = Number(mapping[2]);
    this.#ownsFd = ownsFd;
  }

  /**
   * Creates and maps a new chunk of `sizeBytes`.
   * @throws {NativeError} e.g. `no_space` when the directory's filesystem is full
   * @example
   * ```ts
   * using chunk = SharedMemoryChunk.create(1 << 20, { populate: true });
   * chunk.bytes()[0] = 1;
   * ```
   */
  static create(sizeBytes: number, options: ChunkCreateOptions = {}): SharedMemoryChunk {
    checkSize(sizeBytes);
    const kind = options.kind === "file" ? 1 : 0;
    const flags = (options.populate ? CHUNK_FLAG_POPULATE : 0) | (options.hugepages ? CHUNK_FLAG_HUGEPAGES : 0) |
      (options.fallocate ? CHUNK_FLAG_FALLOCATE : 0);
    const mapping = new BigInt64Array(3);
    const directory = cString(options.directory ?? "/dev/shm");
    const status = native().plasma_chunk_create(kind, directory, BigInt(sizeBytes), flags, mapping);
    unwrap(status, `Creating a ${sizeBytes}-byte ${options.kind ?? "memfd"} chunk`);
    return new SharedMemoryChunk(mapping, true);
  }

  /**
   * Maps `sizeBytes` of an fd received from elsewhere. With `adopt`, closing the chunk closes the fd.
   * @throws {NativeError} when mmap fails
   */
  static map(fd: number, sizeBytes: number, options: ChunkMapOptions & { adopt?: boolean } = {}): SharedMemoryChunk {
    checkSize(sizeBytes);
    const flags = (options.populate ? CHUNK_FLAG_POPULATE : 0) | (options.readOnly ? CHUNK_FLAG_READ_ONLY : 0);
    const mapping = new BigInt64Array(3);
    unwrap(native().plasma_chunk_map(fd, BigInt(sizeBytes), flags, mapping), `Mapping ${sizeBytes} bytes of fd ${fd}`);
    return new SharedMemoryChunk(mapping, options.adopt ?? false);
  }

  /** A zero-copy view of the whole region (one ArrayBuffer per mapping, made on first use). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buffer());
  }

  /** The cached ArrayBuffer over the mapping. */
  buffer(): ArrayBuffer {
    if (!this.#mapped) throw new Error(`Chunk fd ${this.fd} is unmapped`);
    if (this.#buffer === undefined) {
      const pointer = Deno.UnsafePointer.create(this.address);
      if (pointer === null) throw new Error("mapping has a null address");
      this.#buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, this.sizeBytes);
    }
    return this.#buffer;
  }

  /** Whether the region is still mapped. */
  get mapped(): boolean {
    return this.#mapped;
  }

  /** Unmaps the region (views become empty) and closes the fd if this chunk owns it. Safe twice. */
  close(): void {
    if (!this.#mapped) return;
    this.#mapped = false;
    // Detach before unmapping: every view over the buffer now reads as empty instead of faulting.
    this.#buffer?.transfer();
    this.#buffer = undefined;
    unwrap(native().plasma_chunk_unmap(this.address, BigInt(this.sizeBytes)), `Unmapping chunk fd ${this.fd}`);
    if (this.#ownsFd) closeFd(this.fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Finds which mapped chunk holds `address`: its fd and the offset inside it, or null. */
export function lookupAddress(address: bigint): { fd: number; offset: number } | null {
  const out = new BigInt64Array(2);
  const status = native().plasma_chunk_lookup(address, out);
  if (status !== 0) return null;
  return { fd: Number(out[0]), offset: Number(out[1]) };
}

/** Closes an fd the native library handed out. */
export function closeFd(fd: number): void {
  unwrap(native().plasma_fd_close(fd), `Closing fd ${fd}`);
}

/** Free bytes (for unprivileged users) and total bytes of the filesystem holding `path`. */
export function filesystemSpace(path: string): { freeBytes: number; totalBytes: number } {
  const out = new BigUint64Array(2);
  unwrap(native().plasma_filesystem_space(cString(path), out), `Reading free space of ${path}`);
  return { freeBytes: Number(out[0]), totalBytes: Number(out[1]) };
}

function checkSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
    throw new RangeError(`Chunk size must be a positive integer, got ${sizeBytes}`);
  }
}
