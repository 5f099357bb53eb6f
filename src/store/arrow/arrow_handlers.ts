/**
 * The request handlers of Arrow's dialect, one per message type, over the same PlasmaStore as
 * our own dialect. Differences from ours follow Arrow's store: Seal keeps the creator's
 * reference (the client releases it next), Release has no reply, creates never fall back to
 * files (a full store answers OutOfMemory; with spilling on, the reply waits for the spill), and
 * Evict/RefreshLRU expose the LRU.
 * @module
 */
import * as decode from "../../protocol/arrow/decode.ts";
import * as encode from "../../protocol/arrow/encode.ts";
import {
  ARROW_ID_BYTES,
  ARROW_REPLY_BYTES_PER_ID_MAX,
  ARROW_REPLY_FIXED_BYTES_MAX,
  ArrowErrorCode,
  type ArrowInlineObject,
  ArrowMessageType,
} from "../../protocol/arrow/messages.ts";
import { type CreateRequest, ErrorCode, ObjectSource } from "../../protocol/messages.ts";
import type { ClientSession } from "../client_session.ts";
import { REPLY_BYTES_MAX } from "../../protocol/frame.ts";
import type { Handler } from "../dialect.ts";
import type { LocalObject } from "../local_object.ts";
import type { PlasmaStore } from "../plasma_store.ts";
import { checkFixedId, checkPendingGets, RequestError } from "../validation.ts";
import type { CreateResult } from "../store_output.ts";
import { toArrowError } from "./arrow_errors.ts";
import { sendCreateAndSealReply, sendCreateReply, sendGetReply } from "./arrow_replies.ts";
import { sealedInfo, subscribersOf } from "./subscribers.ts";

function checkId(id: Uint8Array): Uint8Array {
  return checkFixedId(id, ARROW_ID_BYTES);
}

/**
 * Ids one request may name: as many as its answer can carry in one reply frame (Arrow's replies
 * list every id and cannot be split). Arrow's store has no count limit, so neither has this
 * dialect below what the reply frame forces: over 3 million ids, a request frame of 100 MiB.
 */
export const ARROW_IDS_PER_REQUEST_MAX = Math.floor(
  (REPLY_BYTES_MAX - ARROW_REPLY_FIXED_BYTES_MAX) / ARROW_REPLY_BYTES_PER_ID_MAX,
);

function checkIds(ids: Uint8Array[]): Uint8Array[] {
  if (ids.length > ARROW_IDS_PER_REQUEST_MAX) {
    throw new RequestError(
      ErrorCode.InvalidRequest,
      `${ids.length} ids in one request: the reply would exceed ${REPLY_BYTES_MAX} bytes (at most ${ARROW_IDS_PER_REQUEST_MAX} ids)`,
    );
  }
  ids.forEach(checkId);
  return ids;
}

function createRequest(objectId: Uint8Array, dataSize: number, metadataSize: number): CreateRequest {
  return { objectId, dataSize, metadataSize, source: ObjectSource.CreatedByWorker, deviceNum: 0, tryImmediately: true };
}

function connect(store: PlasmaStore, session: ClientSession): void {
  session.send(ArrowMessageType.ConnectReply, encode.encodeConnectReply(store.configuredBytes));
}

/** Whether a create that found no room should wait: only when asked to evict and a spill can make room. */
function waitsForSpill(store: PlasmaStore, evict: boolean, result: object): boolean {
  return evict && store.spillingEnabled && "error" in result && result.error === ErrorCode.OutOfMemory;
}

function create(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeCreateRequest(payload);
  // A view into the frame: the reply is encoded before the next read, and a create that waits is
  // copied by the create queue.
  const objectId = checkId(request.objectId);
  // As Arrow's store built without CUDA.
  if (request.deviceNum !== 0) return sendCreateReply(session, failedCreate(objectId, ErrorCode.OutOfMemory));
  const spec = createRequest(objectId, request.dataSize, request.metadataSize);
  const result = store.createNow(session, spec, { evict: request.evictIfFull, fallback: false });
  if (waitsForSpill(store, request.evictIfFull, result)) return store.createAwaited(session, spec, null);
  if ("error" in result) return sendCreateReply(session, failedCreate(objectId, result.error));
  sendCreateReply(session, { objectId, retryId: 0, object: result, error: ErrorCode.OK, message: "", inline: false });
}

function failedCreate(objectId: Uint8Array, error: ErrorCode): CreateResult {
  return { objectId, retryId: 0, object: null, error, message: "", inline: false };
}

/** Creates, fills and seals inline objects, all or none (a failure aborts those created before it). */
function createAndSealAll(
  store: PlasmaStore,
  session: ClientSession,
  objects: ArrowInlineObject[],
  evict: boolean,
): ArrowErrorCode {
  const created: LocalObject[] = [];
  for (const inline of objects) {
    const spec = createRequest(checkId(inline.objectId), inline.data.length, inline.metadata.length);
    const result = store.createNow(session, spec, { evict, fallback: false });
    if ("error" in result) {
      for (const object of created) store.abort(session, object.id);
      return toArrowError(result.error);
    }
    created.push(result);
  }
  created.forEach((object, index) => store.fillAndSeal(session, object, objects[index], objects[index].digest));
  return ArrowErrorCode.OK;
}

/** One inline object; in a full spilling store it waits for room like a create (the bytes are copied first). */
function createAndSeal(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeCreateAndSealRequest(payload);
  const [inline] = request.objects;
  const spec = createRequest(checkId(inline.objectId), inline.data.length, inline.metadata.length);
  const result = store.createNow(session, spec, { evict: request.evictIfFull, fallback: false });
  if (waitsForSpill(store, request.evictIfFull, result)) {
    // The request's bytes live in the frame buffer until the next read: keep a copy while waiting.
    const kept = { data: inline.data.slice(), metadata: inline.metadata.slice(), digest: inline.digest.slice() };
    return store.createAwaited(session, { ...spec, objectId: spec.objectId.slice() }, kept);
  }
  if (!("error" in result)) store.fillAndSeal(session, result, inline, inline.digest);
  sendCreateAndSealReply(session, "error" in result ? toArrowError(result.error) : ArrowErrorCode.OK);
}

/** A batch is all or nothing and never waits for spills (its objects could not all wait at once). */
function createAndSealBatch(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeCreateAndSealBatchRequest(payload);
  checkIds(request.objects.map((object) => object.objectId));
  const error = createAndSealAll(store, session, request.objects, request.evictIfFull);
  session.send(
    ArrowMessageType.CreateAndSealBatchReply,
    encode.encodeErrorOnlyReply(ArrowMessageType.CreateAndSealBatchReply, error),
  );
}

function abort(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const objectId = checkId(decode.decodeIdRequest(payload, "AbortRequest"));
  store.abort(session, objectId);
  session.send(ArrowMessageType.AbortReply, encode.encodeAbortReply(objectId));
}

function seal(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeSealRequest(payload);
  const error = store.seal(session, checkId(request.objectId), false, request.digest);
  session.send(ArrowMessageType.SealReply, encode.encodeSealReply(request.objectId, toArrowError(error)));
}

function get(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeGetRequest(payload);
  checkIds(request.objectIds);
  checkPendingGets(store.pendingGetLoad(session), request.objectIds.length);
  const result = store.get(session, request.objectIds, request.timeoutMs);
  if (result !== null) sendGetReply(session, result);
}

function release(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  store.release(session, checkId(decode.decodeIdRequest(payload, "ReleaseRequest")));
}

function remove(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const ids = checkIds(decode.decodeIdsRequest(payload, "DeleteRequest"));
  const errors = ids.map((id) => toArrowError(store.delete(id)));
  session.send(ArrowMessageType.DeleteReply, encode.encodeDeleteReply(ids, errors));
}

function contains(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const objectId = checkId(decode.decodeIdRequest(payload, "ContainsRequest"));
  session.send(ArrowMessageType.ContainsReply, encode.encodeContainsReply(objectId, store.contains(objectId)));
}

function list(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  decode.decodeEmptyRequest(payload, "ListRequest");
  const infos = [...store.objects()].map(sealedInfo);
  session.send(ArrowMessageType.ListReply, encode.encodeListReply(infos));
}

function evict(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const bytes = decode.decodeEvictRequest(payload);
  session.send(ArrowMessageType.EvictReply, encode.encodeEvictReply(store.evictBySize(bytes)));
}

function subscribe(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  decode.decodeEmptyRequest(payload, "SubscribeRequest");
  // The notification socket follows the request as an fd; the server hands it over when it arrives.
  session.fdAwaited = (fd) => subscribersOf(store).add(store, session, fd);
}

/** Arrow's SetOptions sets the client's name and quota (see quota_policy.ts); a refused quota is OutOfMemory. */
function setOptions(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeSetOptionsRequest(payload);
  const accepted = store.setClientQuota(session, request.clientName, request.outputMemoryQuota);
  session.send(
    ArrowMessageType.SetOptionsReply,
    encode.encodeErrorOnlyReply(
      ArrowMessageType.SetOptionsReply,
      accepted ? ArrowErrorCode.OK : ArrowErrorCode.OutOfMemory,
    ),
  );
}

/**
 * Arrow's debug string: its quota policy's lines, which Arrow's clients and tests read. Answered
 * after the requests already received from other clients: a Release has no reply, so a client
 * that released on one connection and asks on another expects to see it, but the store may
 * read both sockets in either order. (Arrow's clients send one request at a time, so no later
 * reply of the same client can overtake this one.)
 */
function getDebugString(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  decode.decodeEmptyRequest(payload, "GetDebugStringRequest");
  store.afterReceived(() => {
    if (session.broken || session.connection.closed) return; // the client left meanwhile
    session.send(ArrowMessageType.GetDebugStringReply, encode.encodeDebugStringReply(store.quotaDebugString()));
  });
}

function refreshLru(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  for (const id of checkIds(decode.decodeIdsRequest(payload, "RefreshLRURequest"))) store.refreshLru(id);
  session.send(ArrowMessageType.RefreshLRUReply, encode.encodeEmptyReply());
}

/** Request type -> handler. Other types (replies, Unsubscribe, Data*) close the connection. */
export const ARROW_HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [ArrowMessageType.ConnectRequest, (store, session, payload) => {
    decode.decodeEmptyRequest(payload, "ConnectRequest");
    connect(store, session);
  }],
  [ArrowMessageType.CreateRequest, create],
  [ArrowMessageType.CreateAndSealRequest, createAndSeal],
  [ArrowMessageType.CreateAndSealBatchRequest, createAndSealBatch],
  [ArrowMessageType.AbortRequest, abort],
  [ArrowMessageType.SealRequest, seal],
  [ArrowMessageType.GetRequest, get],
  [ArrowMessageType.ReleaseRequest, release],
  [ArrowMessageType.DeleteRequest, remove],
  [ArrowMessageType.ContainsRequest, contains],
  [ArrowMessageType.ListRequest, list],
  [ArrowMessageType.EvictRequest, evict],
  [ArrowMessageType.SubscribeRequest, subscribe],
  [ArrowMessageType.SetOptionsRequest, setOptions],
  [ArrowMessageType.GetDebugStringRequest, getDebugString],
  [ArrowMessageType.RefreshLRURequest, refreshLru],
]);
