/**
 * The core's one way out for requests that waited: the store calls these when a queued create or
 * a waiting get finishes, and the server answers the client in its dialect. Requests answered at
 * once return the same result shapes from the store's methods instead.
 * Invariant: the core never writes to a socket; each waiting request reaches this output once.
 * @module
 */
import type { ErrorCode } from "../protocol/messages.ts";
import type { LocalObject } from "./local_object.ts";
import type { StoreClient } from "./store_client.ts";

/** Why an operation failed: one code clients can switch on and a message that names the values. */
export interface Failure {
  readonly error: ErrorCode;
  readonly message: string;
}

/** A create's answer: its object, a retry id (queued: ask again), or why it failed. */
export interface CreateResult {
  readonly objectId: Uint8Array;
  /** > 0: a queued create the client asks about again (our dialect only). */
  readonly retryId: number;
  /** The object, referenced for the client; null when the create failed or is not finished. */
  readonly object: LocalObject | null;
  /** ErrorCode.OK unless the create failed. */
  readonly error: ErrorCode;
  readonly message: string;
  /** The request carried the object's bytes and the store sealed it (Arrow's CreateAndSeal that waited). */
  readonly inline: boolean;
}

/** A get's answer: every requested id, found (and referenced for the client) or not. */
export interface GetResult {
  /** The requested ids, deduplicated, in order. */
  readonly ids: readonly Uint8Array[];
  readonly keys: readonly string[];
  /** The ids as asked, duplicates included (Arrow's replies repeat them). */
  readonly requested: readonly Uint8Array[];
  /** Per deduplicated id: the object, or null when it was not found in time. */
  readonly found: readonly (LocalObject | null)[];
  /** Set when the get failed as a whole (a restore it waited for failed); then nothing is referenced. */
  readonly failure: Failure | null;
}

/** Where the core sends the answers of requests that waited (implemented by the server, per dialect). */
export interface StoreOutput {
  createFinished(client: StoreClient, result: CreateResult): void;
  getFinished(client: StoreClient, result: GetResult): void;
}
