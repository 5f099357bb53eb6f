/**
 * Arrow's dialect (pyarrow.plasma clients): the handler table of arrow_handlers.ts and the reply
 * encodings of arrow_replies.ts. Arrow has no error reply: a refused request closes the connection.
 * @module
 */
import { ARROW_VERSION, ArrowMessageType } from "../../protocol/arrow/messages.ts";
import type { Dialect } from "../dialect.ts";
import { ARROW_HANDLERS } from "./arrow_handlers.ts";
import { sendCreateReply, sendGetReply } from "./arrow_replies.ts";

export const ARROW_DIALECT: Dialect = {
  name: "arrow",
  cookie: ARROW_VERSION,
  cookieLow: 0,
  cookieHigh: 0,
  disconnectType: ArrowMessageType.Disconnect,
  handlers: ARROW_HANDLERS,
  resendsFallbackFds: false,
  sendCreateReply,
  sendGetReply,

  refuse(session, _requestType, _error, message) {
    console.error(`plasma store: closing a pyarrow client's connection (pid ${session.pid}): ${message}`);
    return false;
  },
};
