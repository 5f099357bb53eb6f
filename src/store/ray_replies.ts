/**
 * Our dialect's encodings of create and get results, shared by the handlers (answers now) and
 * the dialect's output (answers of requests that waited).
 * @module
 */
import { encodeCreateReply, encodeErrorReply, encodeGetReply } from "../protocol/encode.ts";
import { MessageType } from "../protocol/messages.ts";
import type { ClientSession } from "./client_session.ts";
import type { ChunkInfo } from "./local_object.ts";
import { MISSING_SPEC } from "./local_object.ts";
import type { CreateResult, GetResult } from "./store_output.ts";

/** A CreateReply, followed by its chunk's fd the first time this client is told about the chunk. */
export function sendCreateReply(
  session: ClientSession,
  { objectId, retryId, object, error, message }: CreateResult,
): void {
  const chunk = object === null ? null : session.chunkRefs([object.chunk])[0];
  session.send(
    MessageType.CreateReply,
    encodeCreateReply({ objectId, retryWithRequestId: retryId, spec: object?.spec() ?? null, chunk, error, message }),
  );
  if (chunk) session.sendFds([chunk]);
}

/** A GetReply naming every requested id (with the fds of chunks new to the client), or an ErrorReply when the get failed. */
export function sendGetReply(session: ClientSession, get: GetResult): void {
  if (get.failure !== null) {
    const { error, message } = get.failure;
    return session.send(
      MessageType.ErrorReply,
      encodeErrorReply({ requestType: MessageType.GetRequest, error, message }),
    );
  }
  const chunks = new Map<number, ChunkInfo>();
  for (const object of get.found) if (object) chunks.set(object.chunk.id, object.chunk);
  const refs = session.chunkRefs(chunks.values());
  session.send(
    MessageType.GetReply,
    encodeGetReply({
      objectIds: get.ids as Uint8Array[],
      specs: get.found.map((object) => object?.spec() ?? MISSING_SPEC),
      chunks: refs,
    }),
  );
  session.sendFds(refs);
}
