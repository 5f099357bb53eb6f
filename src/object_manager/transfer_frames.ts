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
import { CHUNK_BYTES, FRAME_HEADER_BYTES_MAX, SMALL_PULL_BYTES_MAX } from "../cluster/constants.ts";
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
  | { type: fb.TransferMessage.Hello; nodeId: string; nonce: Uint8Array; proof: Uint8Array; address: string }
  | { type: fb.TransferMessage.Welcome; proof: Uint8Array }
  | { type: fb.TransferMessage.PullRequest; requestId: number; objectId: Uint8Array; allowRedirect: boolean }
  | { type: fb.TransferMessage.ObjectHeader; requestId: number; dataSize: number; metadataSize: number }
  | { type: fb.TransferMessage.ChunkHeader; requestId: number; offset: number; payloadBytes: number }
  | { type: fb.TransferMessage.PullFailed; requestId: number; error: fb.PullError; message: string }
  | { type: fb.TransferMessage.Redirect; requestId: number; address: string };

const TABLE_OF: Record<number, string> = {
  [fb.TransferMessage.Challenge]: "Challenge",
  [fb.TransferMessage.Hello]: "Hello",
  [fb.TransferMessage.Welcome]: "Welcome",
  [fb.TransferMessage.PullRequest]: "PullRequest",
  [fb.TransferMessage.ObjectHeader]: "ObjectHeader",
  [fb.TransferMessage.ChunkHeader]: "ChunkHeader",
  [fb.TransferMessage.PullFailed]: "PullFailed",
  [fb.TransferMessage.Redirect]: "Redirect",
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
      const address = builder.createString(frame.address);
      return fb.Hello.createHello(builder, nodeId, nonce, proof, address);
    }
    case fb.TransferMessage.Welcome:
      return fb.Welcome.createWelcome(builder, builder.createString(frame.proof));
    case fb.TransferMessage.PullRequest:
      return fb.PullRequest.createPullRequest(
        builder,
        BigInt(frame.requestId),
        builder.createString(frame.objectId),
        frame.allowRedirect,
      );
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
    case fb.TransferMessage.Redirect:
      return fb.Redirect.createRedirect(builder, BigInt(frame.requestId), builder.createString(frame.address));
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
      const address = fromUtf8.decode(bytesOf(table.address(BYTES)));
      const nonce = bytesOf(table.nonce(BYTES));
      return { type: prefix.type, nodeId, nonce, proof: bytesOf(table.proof(BYTES)), address };
    }
    case fb.TransferMessage.Welcome:
      return { type: prefix.type, proof: bytesOf(fb.Welcome.getRootAsWelcome(buffer).proof(BYTES)) };
    case fb.TransferMessage.PullRequest: {
      const table = fb.PullRequest.getRootAsPullRequest(buffer);
      const objectId = bytesOf(table.objectId(BYTES));
      return { type: prefix.type, requestId: safe(table.requestId()), objectId, allowRedirect: table.allowRedirect() };
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
    case fb.TransferMessage.Redirect: {
      const table = fb.Redirect.getRootAsRedirect(buffer);
      const address = fromUtf8.decode(bytesOf(table.address(BYTES)));
      return { type: prefix.type, requestId: safe(table.requestId()), address };
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

/** Payloads up to this size may travel through the reader's read-ahead buffer (one copy). */
export const SMALL_PAYLOAD_BYTES_MAX = SMALL_PULL_BYTES_MAX;

/**
 * Reads frames from one connection; each frame's payload must be consumed before the next read.
 * With `readAhead` on, one read takes as many bytes as the socket has (many small frames per
 * read); the owner turns it off while a payload larger than SMALL_PAYLOAD_BYTES_MAX may come, so
 * large payloads are read straight into their destination and never pass through this buffer.
 */
export class FrameReader {
  readAhead = true;
  readonly #conn: Deno.Conn;
  readonly #buffer = new Uint8Array(SMALL_PAYLOAD_BYTES_MAX + FRAME_PREFIX_BYTES + FRAME_HEADER_BYTES_MAX);
  #start = 0;
  #end = 0;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next frame, or null at a clean end of stream. @throws {PeerProtocolError} */
  async next(): Promise<TransferFrame | null> {
    if (!(await this.#fill(FRAME_PREFIX_BYTES))) return null;
    const prefix = decodePrefix(this.#take(FRAME_PREFIX_BYTES));
    if (!(await this.#fill(prefix.headerBytes))) throw new PeerProtocolError("connection closed before a header");
    return decodeHeader(prefix, this.#take(prefix.headerBytes));
  }

  /** Reads a chunk's payload into `target` (a view of the destination's memory): bytes already
   * read ahead are copied (small frames only), the rest is read from the socket straight in. */
  async payloadInto(target: Uint8Array): Promise<void> {
    const buffered = Math.min(this.#end - this.#start, target.length);
    if (buffered > 0) target.set(this.#take(buffered));
    if (buffered < target.length && !(await readExact(this.#conn, target.subarray(buffered)))) {
      throw new PeerProtocolError("connection closed before a payload");
    }
  }

  /** Reads and drops `bytes` of payload (a chunk for a pull that was given up). */
  async skip(bytes: number): Promise<void> {
    const scratch = new Uint8Array(Math.min(bytes, 64 * 1024));
    for (let left = bytes; left > 0; left -= scratch.length) {
      await this.payloadInto(scratch.subarray(0, Math.min(left, scratch.length)));
    }
  }

  /** Consumes `bytes` buffered bytes (valid until the next fill). */
  #take(bytes: number): Uint8Array {
    const view = this.#buffer.subarray(this.#start, this.#start + bytes);
    this.#start += bytes;
    return view;
  }

  /** Ensures `bytes` are buffered. @returns false on a clean EOF before any of them */
  async #fill(bytes: number): Promise<boolean> {
    if (this.#end - this.#start >= bytes) return true;
    if (this.#buffer.length - this.#start < bytes) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const had = this.#end - this.#start;
    while (this.#end - this.#start < bytes) {
      const limit = this.readAhead ? this.#buffer.length : this.#start + bytes;
      const read = await this.#conn.read(this.#buffer.subarray(this.#end, limit));
      if (read === null) {
        if (this.#end - this.#start === 0 && had === 0) return false;
        throw new PeerProtocolError(`connection closed inside a frame (${this.#end - this.#start} of ${bytes} bytes)`);
      }
      this.#end += read;
    }
    return true;
  }
}

/** Serializes writes on one connection (frames of concurrent pulls interleave whole). */
export class FrameWriter {
  readonly #conn: Deno.Conn;
  #tail: Promise<void> = Promise.resolve();

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /**
   * Sends frames in one write; a payload (a view of shared memory, after the last frame) is
   * written to the socket without a copy, except a small one, which joins the frames' write.
   */
  send(frames: TransferFrame | TransferFrame[], payload?: Uint8Array): Promise<void> {
    const encoded = (Array.isArray(frames) ? frames : [frames]).map(encodeFrame);
    const small = payload !== undefined && payload.length <= SMALL_PAYLOAD_BYTES_MAX ? payload : undefined;
    const bytes = concat(small ? [...encoded, small] : encoded);
    return this.#write(bytes, small === undefined ? payload : undefined);
  }

  /**
   * Sends several messages, each frames plus a small payload (at most SMALL_PAYLOAD_BYTES_MAX),
   * in one write: the answer to a batch of small pulls costs one syscall, not one per object.
   */
  sendSmall(messages: { frames: TransferFrame[]; payload: Uint8Array }[]): Promise<void> {
    const parts: Uint8Array[] = [];
    for (const { frames, payload } of messages) {
      if (payload.length > SMALL_PAYLOAD_BYTES_MAX) {
        throw new RangeError(`payload of ${payload.length} bytes is not small`);
      }
      parts.push(...frames.map(encodeFrame), payload);
    }
    return this.#write(concat(parts));
  }

  #write(bytes: Uint8Array, payload?: Uint8Array): Promise<void> {
    const next = this.#tail.then(async () => {
      await writeAll(this.#conn, bytes);
      if (payload !== undefined) await writeAll(this.#conn, payload);
    });
    this.#tail = next.catch(() => {});
    return next;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
