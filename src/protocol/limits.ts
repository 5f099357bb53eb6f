/**
 * Limits both ends of a connection must agree on (the client checks them before sending, the
 * store enforces them); kept here because the client package ships src/protocol but not src/store.
 * @module
 */
import { FRAME_PAYLOAD_BYTES_MAX } from "../../ffi/frame_connection.ts";

/**
 * Largest request payload accepted from any store; larger frames are refused from their header
 * alone. A store accepts max(this, its capacity + 1 MiB) up to {@linkcode REQUEST_BYTES_CEILING},
 * so any object that fits can be sent inline (CreateAndSeal); receive buffers grow only with the
 * bytes that actually arrive.
 */
export const REQUEST_BYTES_MAX = 16 * 1024 * 1024;
/** The native connection's hard limit on a frame payload. */
export const REQUEST_BYTES_CEILING = FRAME_PAYLOAD_BYTES_MAX;
/** Room for a request's own fields beside an object as large as the capacity. */
const REQUEST_OVERHEAD_BYTES = 1024 * 1024;

/** The largest request payload a store of `capacityBytes` accepts. */
export function requestBytesMaxFor(capacityBytes: number): number {
  return Math.min(REQUEST_BYTES_CEILING, Math.max(REQUEST_BYTES_MAX, capacityBytes + REQUEST_OVERHEAD_BYTES));
}

/**
 * The longest get timeout a timer can express (2^31 - 1 ms, about 24.8 days): a longer one
 * would fire at once. Gets with a longer timeout wait forever, which is what such a caller meant.
 */
export const GET_TIMEOUT_MS_MAX = 2 ** 31 - 1;

/** A get timeout from the wire as the store runs it: -1 forever, 0 at once, else milliseconds. */
export function effectiveGetTimeoutMs(timeoutMs: number): number {
  return timeoutMs > GET_TIMEOUT_MS_MAX ? -1 : timeoutMs;
}
