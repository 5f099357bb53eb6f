/**
 * Our own dialect (Ray's protocol plus List, Stats, CreateAndSeal and ErrorReply): the handler
 * table of handlers.ts and the encodings of the replies the store sends on its own schedule.
 * @module
 */
import { encodeCreateReply, encodeErrorReply, encodeGetReply } from "../protocol/encode.ts";
import { COOKIE, COOKIE_HIGH, COOKIE_LOW } from "../protocol/frame.ts";
import { MessageType } from "../protocol/messages.ts";
import type { ChunkInfo } from "./local_object.ts";
import { MISSING_SPEC } from "./local_object.ts";
import type { Dialect } from "./dialect.ts";
import { HANDLERS } from "./handlers.ts";

export const RAY_DIALECT: Dialect = {
  name: "plasma",
  cookie: COOKIE,
  cookieLow: COOKIE_LOW,
  cookieHigh: COOKIE_HIGH,
  disconnectType: MessageType.Disconnect,
  handlers: HANDLERS,
  resendsFallbackFds: true,

  sendCreateReply(session, { objectId, retryId, object, error, message }) {
    const chunk = object === null ? null : session.chunkRefs([object.chunk])[0];
    session.send(
      MessageType.CreateReply,
      encodeCreateReply({ objectId, retryWithRequestId: retryId, spec: object?.spec() ?? null, chunk, error, message }),
    );
    if (chunk) session.sendFds([chunk]);
  },

  sendGetReply(get) {
    const chunks = new Map<number, ChunkInfo>();
    for (const object of get.found) if (object) chunks.set(object.chunk.id, object.chunk);
    const refs = get.session.chunkRefs(chunks.values());
    get.session.send(
      MessageType.GetReply,
      encodeGetReply({
        objectIds: get.ids,
        specs: get.found.map((object) => object?.spec() ?? MISSING_SPEC),
        chunks: refs,
      }),
    );
    get.session.sendFds(refs);
  },

  refuse(session, requestType, error, message) {
    session.send(MessageType.ErrorReply, encodeErrorReply({ requestType, error, message }));
    return true;
  },
};
