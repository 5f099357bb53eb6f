/**
 * Framing constants and limits shared by the store and the client (one home for each).
 * @module
 */
/** The first header word of every frame in our dialect ("RAY" then zeros, as Ray's). */
export const COOKIE = 0x5241590000000000n;
/** The cookie's low and high 32-bit halves, for checks without BigInts. */
export const COOKIE_LOW = 0;
/** High half of {@linkcode COOKIE}. */
export const COOKIE_HIGH = 0x52415900;

/** Largest reply payload the store sends and the client accepts (a List of many objects is the big one). */
export const REPLY_BYTES_MAX = 256 * 1024 * 1024;
