/**
 * Serves a spilled object to a peer straight from its spill file (no restore into the store):
 * reads its record (header, owner address, metadata, data), checks it against the checksum the
 * store kept in its URL, and sends data then metadata as chunk frames.
 * Invariant: the last byte of an object is sent only after its whole record was verified, so a
 * damaged file can never complete (and get sealed at) the puller.
 * @module
 */
import { CHUNK_BYTES } from "../cluster/constants.ts";
import { StreamingHash } from "../../ffi/checksum.ts";
import { checkSpillHeader, parseSpillUrl, SPILL_HEADER_BYTES } from "../store/spill_io/spill_format.ts";
import type { SpilledObject } from "../store/store_events.ts";
import { type FrameWriter, PullError, type TransferFrame, TransferMessage } from "./transfer_frames.ts";

/** The spill file does not hold the object the store described (damaged, cut short, or replaced). */
export class SpillDamagedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpillDamagedError";
  }
}

/**
 * Streams `object` from its spill file as the answer to `requestId`.
 * @returns the bytes sent (data + metadata)
 * @throws {SpillDamagedError} when the record does not match (sizes or checksum); {@linkcode Deno.errors.NotFound}
 * when the file is gone; a connection error when the peer went away
 */
export async function streamFromSpillFile(
  writer: FrameWriter,
  requestId: number,
  object: SpilledObject,
): Promise<number> {
  const location = parseSpillUrl(object.url);
  const file = await Deno.open(location.path, { read: true });
  const hash = new StreamingHash();
  try {
    await file.seek(location.offset, Deno.SeekMode.Start);
    const header = await readFully(file, new Uint8Array(SPILL_HEADER_BYTES), object.url);
    const damaged = (message: string) => new SpillDamagedError(message);
    const [ownerBytes, metadataBytes, dataBytes] = checkSpillHeader(header, object.url, location, object, damaged);
    let checksum = chain(hash, 0n, header);
    checksum = chain(hash, checksum, await readFully(file, new Uint8Array(ownerBytes), object.url));
    const metadata = await readFully(file, new Uint8Array(metadataBytes), object.url);
    checksum = chain(hash, checksum, metadata);
    await writer.send({
      type: TransferMessage.ObjectHeader,
      requestId,
      dataSize: dataBytes,
      metadataSize: metadataBytes,
    });
    const send = (offset: number, payload: Uint8Array) =>
      writer.send({ type: TransferMessage.ChunkHeader, requestId, offset, payloadBytes: payload.length }, payload);
    // Data chunk by chunk, one held back until the checksum over all of it is known.
    hash.reset(checksum);
    const buffers = [
      new Uint8Array(Math.min(CHUNK_BYTES, dataBytes)),
      new Uint8Array(Math.min(CHUNK_BYTES, dataBytes)),
    ];
    let held: { offset: number; payload: Uint8Array } | null = null;
    for (let offset = 0, index = 0; offset < dataBytes; index++) {
      const payload = buffers[index % 2].subarray(0, Math.min(CHUNK_BYTES, dataBytes - offset));
      hash.update(await readFully(file, payload, object.url));
      if (held !== null) await send(held.offset, held.payload); // frees the other buffer for the next read
      held = { offset, payload };
      offset += payload.length;
    }
    if (hash.digest() !== location.checksum) {
      throw new SpillDamagedError(`spilled object at ${object.url} is damaged: its checksum does not match`);
    }
    if (held !== null) await send(held.offset, held.payload);
    for (let offset = 0; offset < metadataBytes; offset += CHUNK_BYTES) {
      await send(dataBytes + offset, metadata.subarray(offset, Math.min(offset + CHUNK_BYTES, metadataBytes)));
    }
    return dataBytes + metadataBytes;
  } finally {
    hash.close();
    file.close();
  }
}

/** A failure frame for a spilled object that could not be served. */
export function spillFailure(requestId: number, error: Error): TransferFrame {
  return {
    type: TransferMessage.PullFailed,
    requestId,
    error: error instanceof Deno.errors.NotFound ? PullError.ObjectNotFound : PullError.SourceFailed,
    message: `cannot serve the spilled copy: ${error.message}`,
  };
}

/** Hashes one part of the record, seeded by the previous part's hash. */
function chain(hash: StreamingHash, seed: bigint, part: Uint8Array): bigint {
  hash.reset(seed);
  hash.update(part);
  return hash.digest();
}

async function readFully(file: Deno.FsFile, into: Uint8Array, url: string): Promise<Uint8Array> {
  for (let done = 0; done < into.length;) {
    const read = await file.read(into.subarray(done));
    if (read === null) throw new SpillDamagedError(`the spill file of ${url} is cut short`);
    done += read;
  }
  return into;
}
