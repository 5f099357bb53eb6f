/**
 * Arrow's encodings of create and get results, shared by the handlers (answers now) and the
 * dialect's output (answers of requests that waited). Segments are named by our chunk ids, which
 * are never reused, because Arrow's clients key their mappings by that number and never unmap.
 * @module
 */
import { encodeCreateReply, encodeErrorOnlyReply, encodeGetReply } from "../../protocol/arrow/encode.ts";
import {
  type ArrowErrorCode,
  ArrowMessageType,
  type ArrowObjectSpec,
  type ArrowSegment,
} from "../../protocol/arrow/messages.ts";
import { idKey } from "../../protocol/object_id.ts";
import type { ClientSession } from "../client_session.ts";
import type { ChunkInfo, LocalObject } from "../local_object.ts";
import type { CreateResult, GetResult } from "../store_output.ts";
import { toArrowError } from "./arrow_errors.ts";

/** Arrow's clients map this many bytes less than a segment's mmap_size (dlmalloc's gap). */
const ARROW_MMAP_GAP_BYTES = 8;

const MISSING: ArrowObjectSpec = Object.freeze({
  segmentIndex: -1,
  dataOffset: 0,
  dataSize: -1,
  metadataOffset: 0,
  metadataSize: 0,
});

function specOf(object: LocalObject): ArrowObjectSpec {
  return {
    segmentIndex: object.chunk.id,
    dataOffset: object.allocation.offset,
    dataSize: object.dataSize,
    metadataOffset: object.allocation.offset + object.dataSize,
    metadataSize: object.metadataSize,
  };
}

function segmentOf(chunk: ChunkInfo): ArrowSegment {
  return { segmentIndex: chunk.id, mmapSize: chunk.sizeBytes + ARROW_MMAP_GAP_BYTES };
}

/** Sends the chunks' fds the client has not been sent yet, after the reply just queued. */
function sendNewFds(session: ClientSession, chunks: Iterable<ChunkInfo>): void {
  session.sendFds(session.chunkRefs(chunks));
}

/** A CreateReply (or, for a CreateAndSeal that waited, its error-only reply), then any new chunk's fd. */
export function sendCreateReply(session: ClientSession, { objectId, object, error, inline }: CreateResult): void {
  if (inline) return sendCreateAndSealReply(session, toArrowError(error));
  session.send(
    ArrowMessageType.CreateReply,
    encodeCreateReply({
      objectId,
      spec: object === null ? null : specOf(object),
      error: toArrowError(error),
      segment: object === null ? null : segmentOf(object.chunk),
    }),
  );
  if (object !== null) sendNewFds(session, [object.chunk]);
}

export function sendCreateAndSealReply(session: ClientSession, error: ArrowErrorCode): void {
  session.send(
    ArrowMessageType.CreateAndSealReply,
    encodeErrorOnlyReply(ArrowMessageType.CreateAndSealReply, error),
  );
}

/**
 * A GetReply repeating the ids as asked. Arrow has no error reply: a get that failed (a restore
 * failed) names its objects as missing, which pyarrow reports as not found.
 */
export function sendGetReply(session: ClientSession, get: GetResult): void {
  if (get.requested === get.ids) return sendDistinctGetReply(session, get);
  const byKey = new Map<string, LocalObject>();
  const chunks = new Map<number, ChunkInfo>();
  get.found.forEach((object, index) => {
    if (object === null) return;
    byKey.set(get.keys[index], object);
    chunks.set(object.chunk.id, object.chunk);
  });
  const keys = get.requested === get.ids ? get.keys : get.requested.map(idKey);
  const specs = keys.map((key) => {
    const object = byKey.get(key);
    return object === undefined ? MISSING : specOf(object);
  });
  session.send(
    ArrowMessageType.GetReply,
    encodeGetReply({ objectIds: get.requested as Uint8Array[], specs, segments: [...chunks.values()].map(segmentOf) }),
  );
  sendNewFds(session, chunks.values());
}

/**
 * The usual GetReply: no id asked twice, so the found objects are already in the order asked.
 * No maps (a get names one id or a few): the chunks are told apart by a scan.
 */
function sendDistinctGetReply(session: ClientSession, get: GetResult): void {
  const specs = new Array<ArrowObjectSpec>(get.found.length);
  const chunks: ChunkInfo[] = [];
  for (let index = 0; index < get.found.length; index++) {
    const object = get.found[index];
    if (object === null) {
      specs[index] = MISSING;
      continue;
    }
    specs[index] = specOf(object);
    if (!chunks.includes(object.chunk)) chunks.push(object.chunk); // one ChunkInfo per chunk
  }
  session.send(
    ArrowMessageType.GetReply,
    encodeGetReply({ objectIds: get.requested as Uint8Array[], specs, segments: chunks.map(segmentOf) }),
  );
  sendNewFds(session, chunks);
}
