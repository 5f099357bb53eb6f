/**
 * Messages between the store thread and the spill I/O Worker.
 * @module
 */
import type { ChunkInfo } from "../local_object.ts";

/** An object to spill: where its bytes are in a chunk. */
export interface SpillSource {
  key: string;
  chunkId: number;
  offset: number;
  dataSize: number;
  metadataSize: number;
  ownerAddress: Uint8Array;
}

/** Where a restored object's bytes go (data at offset, metadata after it). */
export interface RestoreTarget {
  chunkId: number;
  offset: number;
  dataSize: number;
  metadataSize: number;
}

/** One object of a restore request. */
export interface RestoreItem {
  requestId: number;
  url: string;
  target: RestoreTarget;
}

/**
 * Where large records' checksums are computed: on a helper thread while no task waits for a CPU
 * (`auto`, the store's), always there, or always in line (the last two for tests and benchmarks).
 */
export type HelperHashPolicy = "auto" | "always" | "never";

export type ToSpillWorker =
  | { type: "init"; chunks: ChunkInfo[]; instance: string; helperHash?: HelperHashPolicy }
  /** From now on, requests come and replies go through this port (the store runs in another Worker). */
  | { type: "port"; port: MessagePort }
  | { type: "spill"; requestId: number; directory: string; objects: SpillSource[] }
  /** Restores asked for in one turn of the store's loop (e.g. by one multi-id get), read in one go. */
  | { type: "restore"; items: RestoreItem[] }
  | { type: "delete"; requestId: number; path: string }
  | { type: "close" };

export type FromSpillWorker =
  | { type: "spilled"; requestId: number; path: string; urls: string[] }
  /** Every item of one restore request, in order; `error` names the damage of one that failed. */
  | { type: "restored"; results: { requestId: number; error?: string }[] }
  | { type: "deleted"; requestId: number }
  | { type: "failed"; requestId: number; message: string }
  | { type: "closed" };
