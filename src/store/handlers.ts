/**
 * One small handler per request type, dispatched through a table. Each decodes (verifying the
 * FlatBuffer), checks limits and arguments, calls the store, and queues its reply.
 * A bad request throws RequestError (validation.ts); the server turns it into an ErrorReply.
 * @module
 */
import * as decode from "../protocol/decode.ts";
import * as encode from "../protocol/encode.ts";
import { ErrorCode, MessageType, ObjectSource } from "../protocol/messages.ts";
import type { CreateRequest } from "../protocol/messages.ts";
import type { ClientSession } from "./client_session.ts";
import type { Handler } from "./dialect.ts";
import { CREATE_RETRY_LONG_POLL_MS, IDS_PER_REQUEST_MAX } from "./constants.ts";
import { debugString, listObjects } from "./inspection.ts";
import type { PlasmaStore } from "./plasma_store.ts";
import { sendCreateReply, sendGetReply } from "./ray_replies.ts";
import {
  checkCreateFields,
  checkId,
  checkIds,
  checkPendingGets,
  checkQueuedCreates,
  checkTimeout,
  RequestError,
} from "./validation.ts";

function checkCreate(request: CreateRequest): void {
  checkId(request.objectId);
  checkCreateFields(request.dataSize, request.metadataSize, request.source);
}

function connect(store: PlasmaStore, session: ClientSession): void {
  session.send(
    MessageType.ConnectReply,
    encode.encodeConnectReply({
      memoryCapacity: store.capacityBytes,
      requestBytesMax: store.requestBytesMax,
      idsPerRequestMax: IDS_PER_REQUEST_MAX,
    }),
  );
}

function create(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeCreateRequest(payload);
  checkCreate(request);
  if (request.tryImmediately) return sendCreateReply(session, store.createImmediately(session, request));
  checkQueuedCreates(session.queuedCreates, store.queuedCreateCount);
  sendCreateReply(session, store.createQueued(session, request));
}

function createRetry(store: PlasmaStore, session: ClientSession, payload: Uint8Array): void {
  const request = decode.decodeCreateRetryRequest(payload);
  checkId(request.objectId);
  const result = store.retryCreate(session, request.objectId, request.requestId, CREATE_RETRY_LONG_POLL_MS);
  if (result !== null) sendCreateReply(session, result);
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
  checkTimeout(request.timeoutMs);
  checkPendingGets(store.pendingGetLoad(session), request.objectIds.length);
  const result = store.get(session, request.objectIds, request.timeoutMs);
  if (result !== null) sendGetReply(session, result);
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
  const { objects, receivedFromRemote } = decode.decodeCreateAndSealRequest(payload);
  checkIds(objects.map((object) => object.objectId));
  const source = receivedFromRemote ? ObjectSource.ReceivedFromRemoteRaylet : ObjectSource.CreatedByWorker;
  const errors = objects.map((object) => {
    const created = store.createNow(session, {
      objectId: object.objectId,
      dataSize: object.data.length,
      metadataSize: object.metadata.length,
      source,
      deviceNum: 0,
      tryImmediately: true,
    });
    if ("error" in created) return created.error;
    return store.fillAndSeal(session, created, object, null);
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
