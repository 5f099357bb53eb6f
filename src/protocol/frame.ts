/**
 * Framing constants shared by the store and the client.
 * @module
 */
import { MessageType } from "./generated/message-type.ts";

/** The first header word of every frame in our dialect ("RAY" then zeros, as Ray's). */
export const COOKIE = 0x5241590000000000n;
/** The cookie's low and high 32-bit halves, for checks without BigInts. */
export const COOKIE_LOW = 0;
/** High half of {@linkcode COOKIE}. */
export const COOKIE_HIGH = 0x52415900;

/** The reply type for each request type that has one. */
export const REPLY_TYPE: Partial<Record<MessageType, MessageType>> = {
  [MessageType.ConnectRequest]: MessageType.ConnectReply,
  [MessageType.CreateRequest]: MessageType.CreateReply,
  [MessageType.CreateRetryRequest]: MessageType.CreateReply,
  [MessageType.AbortRequest]: MessageType.AbortReply,
  [MessageType.SealRequest]: MessageType.SealReply,
  [MessageType.GetRequest]: MessageType.GetReply,
  [MessageType.ReleaseRequest]: MessageType.ReleaseReply,
  [MessageType.DeleteRequest]: MessageType.DeleteReply,
  [MessageType.ContainsRequest]: MessageType.ContainsReply,
  [MessageType.GetDebugStringRequest]: MessageType.GetDebugStringReply,
  [MessageType.ListRequest]: MessageType.ListReply,
  [MessageType.StatsRequest]: MessageType.StatsReply,
  [MessageType.CreateAndSealRequest]: MessageType.CreateAndSealReply,
};
