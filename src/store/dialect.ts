/**
 * A protocol dialect the store speaks: chosen per connection by the first 8 bytes of its first
 * frame (our cookie, or Arrow's version 0) and fixed for the connection's life. Each dialect
 * decodes its own requests into calls on the one PlasmaStore and encodes the replies.
 * @module
 */
import type { ErrorCode } from "../protocol/messages.ts";
import type { ClientSession } from "./client_session.ts";
import type { PendingGet } from "./get_request_queue.ts";
import type { LocalObject } from "./local_object.ts";
import type { PlasmaStore } from "./plasma_store.ts";

export type Handler = (store: PlasmaStore, session: ClientSession, payload: Uint8Array) => void;

/** The result of a create, for the dialect to encode. */
export interface CreateOutcome {
  objectId: Uint8Array;
  /** > 0: a queued create the client asks about again (our dialect only). */
  retryId: number;
  object: LocalObject | null;
  error: ErrorCode;
  message: string;
}

export interface Dialect {
  readonly name: string;
  /** First header word of every frame, as a BigInt and as its low and high 32-bit halves. */
  readonly cookie: bigint;
  readonly cookieLow: number;
  readonly cookieHigh: number;
  /** The message type that ends a connection. */
  readonly disconnectType: number;
  readonly handlers: ReadonlyMap<number, Handler>;
  /**
   * Whether a fallback chunk's fd goes with every reply naming it (clients that unmap it when
   * done) or once per connection like the main chunk (clients that keep every mapping).
   */
  readonly resendsFallbackFds: boolean;
  sendCreateReply(session: ClientSession, outcome: CreateOutcome): void;
  sendGetReply(get: PendingGet): void;
  /**
   * Tells the client a request was refused. Returns false when the dialect has no way to say
   * so: the server then closes the connection.
   */
  refuse(session: ClientSession, requestType: number, error: ErrorCode, message: string): boolean;
}
