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

export type ToSpillWorker =
  | { type: "init"; chunks: ChunkInfo[] }
  /** From now on, requests come and replies go through this port (the store runs in another Worker). */
  | { type: "port"; port: MessagePort }
  | { type: "spill"; requestId: number; directory: string; objects: SpillSource[] }
  | { type: "restore"; requestId: number; url: string; target: RestoreTarget }
  | { type: "delete"; requestId: number; path: string }
  | { type: "close" };

export type FromSpillWorker =
  | { type: "spilled"; requestId: number; path: string; urls: string[] }
  | { type: "restored"; requestId: number }
  | { type: "deleted"; requestId: number }
  | { type: "failed"; requestId: number; message: string }
  | { type: "closed" };
