/**
 * Our own dialect (Ray's protocol plus List, Stats, CreateAndSeal and ErrorReply): the handler
 * table of handlers.ts and the reply encodings of ray_replies.ts.
 * @module
 */
import { encodeErrorReply } from "../protocol/encode.ts";
import { COOKIE, COOKIE_HIGH, COOKIE_LOW } from "../protocol/frame.ts";
import { MessageType } from "../protocol/messages.ts";
import type { Dialect } from "./dialect.ts";
import { HANDLERS } from "./handlers.ts";
import { sendCreateReply, sendGetReply } from "./ray_replies.ts";

export const RAY_DIALECT: Dialect = {
  name: "plasma",
  cookie: COOKIE,
  cookieLow: COOKIE_LOW,
  cookieHigh: COOKIE_HIGH,
  disconnectType: MessageType.Disconnect,
  handlers: HANDLERS,
  resendsFallbackFds: true,
  sendCreateReply,
  sendGetReply,

  refuse(session, requestType, error, message) {
    session.send(MessageType.ErrorReply, encodeErrorReply({ requestType, error, message }));
    return true;
  },
};
