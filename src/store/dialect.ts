/**
 * A protocol dialect the store speaks: chosen per connection by the first 8 bytes of its first
 * frame (our cookie, or Arrow's version 0) and fixed for the connection's life. Each dialect
 * decodes its own requests into calls on the one PlasmaStore and encodes the results.
 * @module
 */
import type { ErrorCode } from "../protocol/messages.ts";
import type { ClientSession, SessionDialect } from "./client_session.ts";
import type { PlasmaStore } from "./plasma_store.ts";
import type { CreateResult, GetResult } from "./store_output.ts";

export type Handler = (store: PlasmaStore, session: ClientSession, payload: Uint8Array) => void;

export interface Dialect extends SessionDialect {
  readonly name: string;
  /** The cookie's low and high 32-bit halves, for checks without BigInts. */
  readonly cookieLow: number;
  readonly cookieHigh: number;
  /** The message type that ends a connection. */
  readonly disconnectType: number;
  readonly handlers: ReadonlyMap<number, Handler>;
  /** Answers a create that waited (or a held CreateRetry). */
  sendCreateReply(session: ClientSession, result: CreateResult): void;
  /** Answers a get that waited. */
  sendGetReply(session: ClientSession, result: GetResult): void;
  /**
   * Tells the client a request was refused. Returns false when the dialect has no way to say
   * so: the server then closes the connection.
   */
  refuse(session: ClientSession, requestType: number, error: ErrorCode, message: string): boolean;
}
