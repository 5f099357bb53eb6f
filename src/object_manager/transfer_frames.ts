/**
 * The peer protocol's frames (schema/transfer.fbs): a 16-byte prefix (magic, type, header bytes,
 * payload bytes; little-endian u32), a verified FlatBuffers header, then raw payload bytes that the
 * caller reads straight into their destination (shared memory), never through a JS-heap buffer.
 * Invariant: a frame is rejected from its prefix alone when its sizes or type are out of bounds.
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { bytesOf, verifiedBuffer } from "../protocol/flatbuffer_reading.ts";
import { BYTES } from "../protocol/flatbuffer_reading.ts";
import { CHUNK_BYTES, FRAME_HEADER_BYTES_MAX } from "../cluster/constants.ts";
import * as fb from "./generated/mod.ts";
import { LAYOUTS } from "./generated/layout.ts";

export { PullError, TransferMessage } from "./generated/mod.ts";

/** "PLTX" read as a little-endian u32. */
export const FRAME_MAGIC = 0x58544c50;
export const FRAME_PREFIX_BYTES = 16;

/** A frame the peer sent that breaks the protocol: the connection is closed. */
export class PeerProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeerProtocolError";
  }
}

export type TransferFrame =
  | { type: fb.TransferMessage.Challenge; nodeId: string; nonce: Uint8Array; authRequired: boolean }
  | { type: fb.TransferMessage.Hello; nodeId: string; nonce: Uint8Array; proof: Uint8Array }
  | { type: fb.TransferMessage.Welcome; proof: Uint8Array }
  | { type: fb.TransferMessage.PullRequest; requestId: number; objectId: Uint8Array }
  | { type: fb.TransferMessage.ObjectHeader; requestId: number; dataSize: number; metadataSize: number }
  | { type: fb.TransferMessage.ChunkHeader; requestId: number; offset: number; payloadBytes: number }
  | { type: fb.TransferMessage.PullFailed; requestId: number; error: fb.PullError; message: string };

const TABLE_OF: Record<number, string> = {
  [fb.TransferMessage.Challenge]: "Challenge",
  [fb.TransferMessage.Hello]: "Hello",
  [fb.TransferMessage.Welcome]: "Welcome",
  [fb.TransferMessage.PullRequest]: "PullRequest",
  [fb.TransferMessage.ObjectHeader]: "ObjectHeader",
  [fb.TransferMessage.ChunkHeader]: "ChunkHeader",
  [fb.TransferMessage.PullFailed]: "PullFailed",
};

const builder = new flatbuffers.Builder(256);
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: false });

/** Encodes one frame's prefix and header into a fresh buffer (the payload is written separately). */
export function encodeFrame(frame: TransferFrame): Uint8Array {
  builder.clear();
  const root = buildHeader(frame);
  builder.finish(root);
  const header = builder.asUint8Array();
  const bytes = new Uint8Array(FRAME_PREFIX_BYTES + header.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, frame.type, true);
  view.setUint32(8, header.length, true);
  view.setUint32(12, frame.type === fb.TransferMessage.ChunkHeader ? frame.payloadBytes : 0, true);
  bytes.set(header, FRAME_PREFIX_BYTES);
  return bytes;
}

function buildHeader(frame: TransferFrame): flatbuffers.Offset {
  switch (frame.type) {
    case fb.TransferMessage.Challenge: {
      const nodeId = builder.createString(frame.nodeId);
      const nonce = builder.createString(frame.nonce);
      return fb.Challenge.createChallenge(builder, nodeId, nonce, frame.authRequired);
    }
    case fb.TransferMessage.Hello: {
      const nodeId = builder.createString(frame.nodeId);
      const nonce = builder.createString(frame.nonce);
      const proof = builder.createString(frame.proof);
      return fb.Hello.createHello(builder, nodeId, nonce, proof);
    }
    case fb.TransferMessage.Welcome:
      return fb.Welcome.createWelcome(builder, builder.createString(frame.proof));
    case fb.TransferMessage.PullRequest:
      return fb.PullRequest.createPullRequest(builder, BigInt(frame.requestId), builder.createString(frame.objectId));
    case fb.TransferMessage.ObjectHeader:
      return fb.ObjectHeader.createObjectHeader(
        builder,
        BigInt(frame.requestId),
        BigInt(frame.dataSize),
        BigInt(frame.metadataSize),
      );
    case fb.TransferMessage.ChunkHeader:
      return fb.ChunkHeader.createChunkHeader(builder, BigInt(frame.requestId), BigInt(frame.offset));
    case fb.TransferMessage.PullFailed: {
      const message = builder.createString(utf8.encode(frame.message.slice(0, 1_000)));
      return fb.PullFailed.createPullFailed(builder, BigInt(frame.requestId), frame.error, message);
    }
  }
}

/** What a 16-byte prefix announces, checked against the limits before anything else is read. */
export interface FramePrefix {
  type: fb.TransferMessage;
  headerBytes: number;
  payloadBytes: number;
}

/** Checks a prefix; throws {@linkcode PeerProtocolError} naming the first thing wrong. */
export function decodePrefix(prefix: Uint8Array): FramePrefix {
  const view = new DataView(prefix.buffer, prefix.byteOffset, FRAME_PREFIX_BYTES);
  if (view.getUint32(0, true) !== FRAME_MAGIC) throw new PeerProtocolError("bad frame magic");
  const type = view.getUint32(4, true);
  const headerBytes = view.getUint32(8, true);
  const payloadBytes = view.getUint32(12, true);
  if (TABLE_OF[type] === undefined) throw new PeerProtocolError(`unknown frame type ${type}`);
  if (headerBytes < 8 || headerBytes > FRAME_HEADER_BYTES_MAX) {
    throw new PeerProtocolError(`frame header of ${headerBytes} bytes (limit ${FRAME_HEADER_BYTES_MAX})`);
  }
  if (payloadBytes > (type === fb.TransferMessage.ChunkHeader ? CHUNK_BYTES : 0)) {
    throw new PeerProtocolError(`payload of ${payloadBytes} bytes on frame type ${type}`);
  }
  return { type, headerBytes, payloadBytes };
}

/** Verifies and decodes a header whose prefix passed {@linkcode decodePrefix}. */
export function decodeHeader(prefix: FramePrefix, header: Uint8Array): TransferFrame {
  let buffer: flatbuffers.ByteBuffer;
  try {
    buffer = verifiedBuffer(header, TABLE_OF[prefix.type], LAYOUTS);
  } catch (error) {
    throw new PeerProtocolError(`malformed ${TABLE_OF[prefix.type]} header: ${(error as Error).message}`);
  }
  switch (prefix.type) {
    case fb.TransferMessage.Challenge: {
      const table = fb.Challenge.getRootAsChallenge(buffer);
      const nodeId = fromUtf8.decode(bytesOf(table.nodeId(BYTES)));
      return { type: prefix.type, nodeId, nonce: bytesOf(table.nonce(BYTES)), authRequired: table.authRequired() };
    }
    case fb.TransferMessage.Hello: {
      const table = fb.Hello.getRootAsHello(buffer);
      const nodeId = fromUtf8.decode(bytesOf(table.nodeId(BYTES)));
      return { type: prefix.type, nodeId, nonce: bytesOf(table.nonce(BYTES)), proof: bytesOf(table.proof(BYTES)) };
    }
    case fb.TransferMessage.Welcome:
      return { type: prefix.type, proof: bytesOf(fb.Welcome.getRootAsWelcome(buffer).proof(BYTES)) };
    case fb.TransferMessage.PullRequest: {
      const table = fb.PullRequest.getRootAsPullRequest(buffer);
      return { type: prefix.type, requestId: safe(table.requestId()), objectId: bytesOf(table.objectId(BYTES)) };
    }
    case fb.TransferMessage.ObjectHeader: {
      const table = fb.ObjectHeader.getRootAsObjectHeader(buffer);
      return {
        type: prefix.type,
        requestId: safe(table.requestId()),
        dataSize: safe(table.dataSize()),
        metadataSize: safe(table.metadataSize()),
      };
    }
    case fb.TransferMessage.ChunkHeader: {
      const table = fb.ChunkHeader.getRootAsChunkHeader(buffer);
      const requestId = safe(table.requestId());
      return { type: prefix.type, requestId, offset: safe(table.offset()), payloadBytes: prefix.payloadBytes };
    }
    case fb.TransferMessage.PullFailed: {
      const table = fb.PullFailed.getRootAsPullFailed(buffer);
      const message = fromUtf8.decode(bytesOf(table.message(BYTES)));
      return { type: prefix.type, requestId: safe(table.requestId()), error: table.error(), message };
    }
    default:
      throw new PeerProtocolError(`unknown frame type ${prefix.type}`);
  }
}

function safe(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new PeerProtocolError(`value ${value} out of range`);
  return Number(value);
}

/** Reads exactly `target.length` bytes (straight into `target`). @returns false on a clean EOF at the start */
export async function readExact(conn: Deno.Conn, target: Uint8Array): Promise<boolean> {
  let filled = 0;
  while (filled < target.length) {
    const read = await conn.read(target.subarray(filled));
    if (read === null) {
      if (filled === 0) return false;
      throw new PeerProtocolError(`connection closed inside a frame (${filled} of ${target.length} bytes)`);
    }
    filled += read;
  }
  return true;
}

/** Writes all of `bytes`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Reads frames from one connection; each frame's payload must be consumed before the next read. */
export class FrameReader {
  readonly #conn: Deno.Conn;
  readonly #prefix = new Uint8Array(FRAME_PREFIX_BYTES);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next frame, or null at a clean end of stream. @throws {PeerProtocolError} */
  async next(): Promise<TransferFrame | null> {
    if (!(await readExact(this.#conn, this.#prefix))) return null;
    const prefix = decodePrefix(this.#prefix);
    const header = new Uint8Array(prefix.headerBytes);
    if (!(await readExact(this.#conn, header))) throw new PeerProtocolError("connection closed before a header");
    return decodeHeader(prefix, header);
  }

  /** Reads a chunk's payload straight into `target` (a view of the destination's memory). */
  async payloadInto(target: Uint8Array): Promise<void> {
    if (!(await readExact(this.#conn, target))) throw new PeerProtocolError("connection closed before a payload");
  }

  /** Reads and drops `bytes` of payload (a chunk for a pull that was given up). */
  async skip(bytes: number): Promise<void> {
    const scratch = new Uint8Array(Math.min(bytes, 64 * 1024));
    for (let left = bytes; left > 0; left -= scratch.length) {
      await this.payloadInto(scratch.subarray(0, Math.min(left, scratch.length)));
    }
  }
}

/** Serializes writes on one connection (frames of concurrent pulls interleave whole). */
export class FrameWriter {
  readonly #conn: Deno.Conn;
  #tail: Promise<void> = Promise.resolve();

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Sends a frame, then its payload (a view of shared memory: written to the socket without a copy). */
  send(frame: TransferFrame, payload?: Uint8Array): Promise<void> {
    const next = this.#tail.then(async () => {
      await writeAll(this.#conn, encodeFrame(frame));
      if (payload !== undefined && payload.length > 0) await writeAll(this.#conn, payload);
    });
    this.#tail = next.catch(() => {});
    return next;
  }
}
