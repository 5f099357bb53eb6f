/**
 * One small handler per request type, dispatched through a table. Each decodes (verifying the
 * FlatBuffer), checks limits and arguments, calls the store, and queues its reply.
 * A bad request throws RequestError; the server turns it into an ErrorReply.
 * @module
 */
import * as decode from "../protocol/decode.ts";
import * as encode from "../protocol/encode.ts";
import { ErrorCode, MessageType, ObjectSource } from "../protocol/messages.ts";
import type { CreateRequest } from "../protocol/messages.ts";
import { isValidIdLength, OBJECT_ID_BYTES_MAX } from "../protocol/object_id.ts";
import type { ClientSession } from "./client_session.ts";
import {
  CREATE_RETRY_LONG_POLL_MS,
  IDS_PER_REQUEST_MAX,
  PENDING_GETS_PER_CLIENT_MAX,
  QUEUED_CREATES_MAX,
  QUEUED_CREATES_PER_CLIENT_MAX,
} from "./constants.ts";
import { debugString, listObjects } from "./inspection.ts";
import type { PlasmaStore } from "./plasma_store.ts";

/** A request the store will not serve, with the code and message the client gets. */
export class RequestError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

type Handler = (store: PlasmaStore, session: ClientSession, payload: Uint8Array) => void;

function checkId(id: Uint8Array): void {
  if (!isValidIdLength(id)) {
    throw new RequestError(
      ErrorCode.InvalidRequest,
      `object ids have 1 to ${OBJECT_ID_BYTES_MAX} bytes, got ${id.length}`,
    );
  }
}

/** Refuses a request naming more ids than IDS_PER_REQUEST_MAX (both dialects). */
export function checkIdCount(ids: Uint8Array[]): void {
  if (ids.length > IDS_PER_REQUEST_MAX) {
    throw new RequestError(
      ErrorCode.InvalidRequest,
      `${ids.length} ids in one request; the limit is ${IDS_PER_REQUEST_MAX}`,
    );
  }
}

function checkIds(ids: Uint8Array[]): void {
  checkIdCount(ids);
  ids.forEach(checkId);
}

function checkCreate(request: CreateRequest): void {
  checkId(request.objectId);
  for (const [name, value] of [["data_size", request.dataSize], ["metadata_size", request.metadataSize]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RequestError(ErrorCode.InvalidRequest, `bad ${name} ${value}`);
    }
  }
  if (ObjectSource[request.source] === undefined) {
    throw new RequestError(ErrorCode.InvalidRequest, `unknown object source ${request.source}`);
  }
}

function connect(store: PlasmaStore, session: ClientSession): void {
  session.send(
    MessageType.ConnectReply,
    encode.encodeConnectReply({
      memoryCapacity: store.memory.capacityBytes,
      requestBytesMax: store.requestBytesMax,
      idsPerRequestMax: IDS_PER_REQUEST_MAX,
    }),
  );
}

function create(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeCreateRequest(payload);
  checkCreate(request);
  if (request.tryImmediately) return store.createImmediately(session, request);
  if (session.queuedCreates >= QUEUED_CREATES_PER_CLIENT_MAX || store.creates.size >= QUEUED_CREATES_MAX) {
    throw new RequestError(
      ErrorCode.InvalidRequest,
      `too many queued creates (limit ${QUEUED_CREATES_PER_CLIENT_MAX} per client, ${QUEUED_CREATES_MAX} in all)`,
    );
  }
  store.createQueued(session, request);
}

function createRetry(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeCreateRetryRequest(payload);
  checkId(request.objectId);
  store.retryCreate(session, request.objectId, request.requestId, CREATE_RETRY_LONG_POLL_MS);
}

function abort(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const { objectId } = decode.decodeIdRequest(payload, "AbortRequest");
  checkId(objectId);
  session.send(MessageType.AbortReply, encode.encodeIdReply({ objectId, error: store.abort(session, objectId) }));
}

function seal(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeSealRequest(payload);
  checkIds(request.objectIds);
  const errors = request.objectIds.map((id) => store.seal(session, id, request.release));
  session.send(MessageType.SealReply, encode.encodeIdsReply({ objectIds: request.objectIds, errors }));
}

function get(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeGetRequest(payload);
  checkIds(request.objectIds);
  if (!Number.isSafeInteger(request.timeoutMs) || request.timeoutMs < -1) {
    throw new RequestError(ErrorCode.InvalidRequest, `bad timeout_ms ${request.timeoutMs}`);
  }
  if (session.pendingGets >= PENDING_GETS_PER_CLIENT_MAX) {
    throw new RequestError(
      ErrorCode.InvalidRequest,
      `too many pending gets (limit ${PENDING_GETS_PER_CLIENT_MAX} per client)`,
    );
  }
  store.get(session, request.objectIds, request.timeoutMs);
}

function release(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeReleaseRequest(payload);
  checkId(request.objectId);
  const error = store.release(session, request.objectId);
  if (request.mayUnmap) {
    session.send(MessageType.ReleaseReply, encode.encodeIdReply({ objectId: request.objectId, error }));
  }
}

function remove(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const { objectIds, everywhere } = decode.decodeDeleteRequest(payload);
  checkIds(objectIds);
  if (everywhere) {
    checkClusterMode(store, "delete everywhere");
    store.deleteEverywhere(objectIds);
  }
  const errors = objectIds.map((id) => store.delete(id));
  session.send(MessageType.DeleteReply, encode.encodeIdsReply({ objectIds, errors }));
}

function fetch(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const { objectIds } = decode.decodeIdsRequest(payload);
  checkIds(objectIds);
  checkClusterMode(store, "fetch");
  store.fetch(objectIds);
  session.send(MessageType.FetchReply, encode.encodeIdsReply({ objectIds, errors: objectIds.map(() => ErrorCode.OK) }));
}

function checkClusterMode(store: PlasmaStore, what: string): void {
  if (!store.clusterMode) {
    throw new RequestError(ErrorCode.InvalidRequest, `${what} needs a store started with --cluster`);
  }
}

function contains(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const { objectId } = decode.decodeIdRequest(payload, "ContainsRequest");
  checkId(objectId);
  session.send(
    MessageType.ContainsReply,
    encode.encodeContainsReply({ objectId, hasObject: store.contains(objectId) }),
  );
}

function createAndSeal(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const { objects } = decode.decodeCreateAndSealRequest(payload);
  checkIds(objects.map((object) => object.objectId));
  const errors = objects.map((object) => {
    const created = store.createNow(session, {
      objectId: object.objectId,
      dataSize: object.data.length,
      metadataSize: object.metadata.length,
      source: ObjectSource.CreatedByWorker,
      deviceNum: 0,
      tryImmediately: true,
    });
    if ("error" in created) return created.error;
    store.memory.view(created.allocation, 0, object.data.length).set(object.data);
    store.memory.view(created.allocation, object.data.length, object.metadata.length).set(object.metadata);
    return store.seal(session, object.objectId, true);
  });
  session.send(
    MessageType.CreateAndSealReply,
    encode.encodeIdsReply({ objectIds: objects.map((o) => o.objectId), errors }),
  );
}

/** Request type -> handler. Types missing here (replies, unknown numbers) get an ErrorReply. */
export const HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [MessageType.ConnectRequest, connect],
  [MessageType.CreateRequest, create],
  [MessageType.CreateRetryRequest, createRetry],
  [MessageType.AbortRequest, abort],
  [MessageType.SealRequest, seal],
  [MessageType.GetRequest, get],
  [MessageType.ReleaseRequest, release],
  [MessageType.DeleteRequest, remove],
  [MessageType.ContainsRequest, contains],
  [MessageType.FetchRequest, fetch],
  [MessageType.CreateAndSealRequest, createAndSeal],
  [
    MessageType.ListRequest,
    (store, session) => session.send(MessageType.ListReply, encode.encodeListReply(listObjects(store))),
  ],
  [
    MessageType.StatsRequest,
    (store, session) => session.send(MessageType.StatsReply, encode.encodeStatsReply(store.snapshot())),
  ],
  [
    MessageType.GetDebugStringRequest,
    (store, session) =>
      session.send(MessageType.GetDebugStringReply, encode.encodeDebugStringReply(debugString(store))),
  ],
]);
