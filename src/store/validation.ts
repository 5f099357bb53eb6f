/**
 * Request validation shared by both dialects: ids, id counts, sizes, timeouts and the per-client
 * limits. A request that fails a check never reaches the core; it throws RequestError, which the
 * server turns into the dialect's refusal (an ErrorReply, or a closed connection for Arrow's).
 * @module
 */
import { ErrorCode, ObjectSource } from "../protocol/messages.ts";
import { isValidIdLength, OBJECT_ID_BYTES_MAX } from "../protocol/object_id.ts";
import {
  IDS_PER_REQUEST_MAX,
  PENDING_GETS_PER_CLIENT_MAX,
  QUEUED_CREATES_MAX,
  QUEUED_CREATES_PER_CLIENT_MAX,
} from "./constants.ts";

/** A request the store will not serve, with the code and message the client gets. */
export class RequestError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "RequestError";
    this.code = code;
  }
}

function invalid(message: string): RequestError {
  return new RequestError(ErrorCode.InvalidRequest, message);
}

/** An id of our dialect: 1 to OBJECT_ID_BYTES_MAX bytes. */
export function checkId(id: Uint8Array): Uint8Array {
  if (!isValidIdLength(id)) throw invalid(`object ids have 1 to ${OBJECT_ID_BYTES_MAX} bytes, got ${id.length}`);
  return id;
}

/** An id of exactly `bytes` bytes (Arrow's dialect: 20). */
export function checkFixedId(id: Uint8Array, bytes: number): Uint8Array {
  if (id.length !== bytes) throw invalid(`Arrow object ids have ${bytes} bytes, got ${id.length}`);
  return id;
}

/** Refuses a request naming more ids than IDS_PER_REQUEST_MAX (both dialects). */
function checkIdCount<T>(ids: T[]): T[] {
  if (ids.length > IDS_PER_REQUEST_MAX) {
    throw invalid(`${ids.length} ids in one request; the limit is ${IDS_PER_REQUEST_MAX}`);
  }
  return ids;
}

/** Every id valid, and not too many of them. */
export function checkIds(ids: Uint8Array[], checkOne: (id: Uint8Array) => Uint8Array = checkId): Uint8Array[] {
  checkIdCount(ids).forEach(checkOne);
  return ids;
}

/** Sizes are whole, non-negative and safe; the source is one we know. */
export function checkCreateFields(dataSize: number, metadataSize: number, source: ObjectSource): void {
  for (const [name, value] of [["data_size", dataSize], ["metadata_size", metadataSize]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw invalid(`bad ${name} ${value}`);
  }
  if (ObjectSource[source] === undefined) throw invalid(`unknown object source ${source}`);
}

/** -1 waits forever, 0 answers at once, more waits that many milliseconds. */
export function checkTimeout(timeoutMs: number): void {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < -1) throw invalid(`bad timeout_ms ${timeoutMs}`);
}

/** A client may have PENDING_GETS_PER_CLIENT_MAX gets waiting at once. */
export function checkPendingGets(pendingGets: number): void {
  if (pendingGets >= PENDING_GETS_PER_CLIENT_MAX) {
    throw invalid(`too many pending gets (limit ${PENDING_GETS_PER_CLIENT_MAX} per client)`);
  }
}

/** Queued creates are bounded per client and for the whole store. */
export function checkQueuedCreates(clientQueued: number, storeQueued: number): void {
  if (clientQueued >= QUEUED_CREATES_PER_CLIENT_MAX || storeQueued >= QUEUED_CREATES_MAX) {
    throw invalid(
      `too many queued creates (limit ${QUEUED_CREATES_PER_CLIENT_MAX} per client, ${QUEUED_CREATES_MAX} in all)`,
    );
  }
}
