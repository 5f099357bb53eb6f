/**
 * Arrow's dialect (pyarrow.plasma clients): the handler table of arrow_handlers.ts and the
 * encodings of create and get replies. Segments are named by our chunk ids, which are never
 * reused, because Arrow's clients key their mappings by that number and never unmap.
 * @module
 */
import { clientErrorLog } from "../../log/rate_limited_log.ts";
import { encodeCreateReply, encodeGetReply } from "../../protocol/arrow/encode.ts";
import {
  ARROW_VERSION,
  ArrowMessageType,
  type ArrowObjectSpec,
  type ArrowSegment,
} from "../../protocol/arrow/messages.ts";
import { idKey } from "../../protocol/object_id.ts";
import type { ClientSession } from "../client_session.ts";
import type { Dialect } from "../dialect.ts";
import type { ChunkInfo, LocalObject } from "../local_object.ts";
import { ARROW_HANDLERS } from "./arrow_handlers.ts";
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

export const ARROW_DIALECT: Dialect = {
  name: "arrow",
  cookie: ARROW_VERSION,
  cookieLow: 0,
  cookieHigh: 0,
  disconnectType: ArrowMessageType.Disconnect,
  handlers: ARROW_HANDLERS,
  resendsFallbackFds: false,

  sendCreateReply(session, { objectId, object, error }) {
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
  },

  sendGetReply(get) {
    const byKey = new Map<string, LocalObject>();
    const chunks = new Map<number, ChunkInfo>();
    get.found.forEach((object, index) => {
      if (object === null) return;
      byKey.set(get.keys[index], object);
      chunks.set(object.chunk.id, object.chunk);
    });
    // Arrow's reply repeats duplicate ids, in the order asked.
    const keys = get.requested === get.ids ? get.keys : get.requested.map(idKey);
    const specs = keys.map((key) => {
      const object = byKey.get(key);
      return object === undefined ? MISSING : specOf(object);
    });
    get.session.send(
      ArrowMessageType.GetReply,
      encodeGetReply({ objectIds: get.requested, specs, segments: [...chunks.values()].map(segmentOf) }),
    );
    sendNewFds(get.session, chunks.values());
  },

  refuse(session, _requestType, _error, message) {
    // Any client can send bad frames at will: rate-limited, so none can flood the log.
    clientErrorLog.line(
      "closing a pyarrow client's connection",
      `plasma store: closing a pyarrow client's connection (pid ${session.pid}): ${message}`,
    );
    return false;
  },
};
