/**
 * Our error codes in Arrow's terms.
 * @module
 */
import { ArrowErrorCode } from "../../protocol/arrow/messages.ts";
import { ErrorCode } from "../../protocol/messages.ts";

/**
 * Our error codes in Arrow's terms. Arrow's clients abort on codes they do not know, so codes
 * without an equivalent become the nearest one a client can act on.
 */
export function toArrowError(code: ErrorCode): ArrowErrorCode {
  switch (code) {
    case ErrorCode.OK:
      return ArrowErrorCode.OK;
    case ErrorCode.ObjectExists:
    case ErrorCode.ObjectSealed:
      return ArrowErrorCode.ObjectExists;
    case ErrorCode.OutOfMemory:
    case ErrorCode.OutOfDisk:
      return ArrowErrorCode.OutOfMemory;
    case ErrorCode.ObjectNotSealed:
      return ArrowErrorCode.ObjectNotSealed;
    case ErrorCode.ObjectInUse:
      return ArrowErrorCode.ObjectInUse;
    default:
      // ObjectNonexistent, NotPermitted (someone else's unsealed object): not found for this client.
      return ArrowErrorCode.ObjectNotFound;
  }
}
