/**
 * The client's typed errors: one class per store error code, each with a `code` to switch on.
 * @module
 */
import { ErrorCode } from "../protocol/messages.ts";

/** Error codes a caller can switch on (the store's, by name). */
export type StoreErrorCode = keyof typeof ErrorCode | "ConnectionClosed" | "ProtocolError";

/** Any failure the store reported, or a broken connection to it. */
export class StoreError extends Error {
  /** Stable name of the failure. */
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}

/** The object already exists. */
export class ObjectExistsError extends StoreError {
  constructor(message: string) {
    super("ObjectExists", message);
    this.name = "ObjectExistsError";
  }
}

/** No object with that id (or not one this client may act on). */
export class ObjectNotFoundError extends StoreError {
  constructor(message: string) {
    super("ObjectNonexistent", message);
    this.name = "ObjectNotFoundError";
  }
}

/** The store has no room for the object (after its queue and grace period). */
export class OutOfMemoryError extends StoreError {
  constructor(message: string) {
    super("OutOfMemory", message);
    this.name = "OutOfMemoryError";
  }
}

/** No room on disk for a fallback allocation or a spill. */
export class OutOfDiskError extends StoreError {
  constructor(message: string) {
    super("OutOfDisk", message);
    this.name = "OutOfDiskError";
  }
}

/** The object is not sealed yet. */
export class ObjectNotSealedError extends StoreError {
  constructor(message: string) {
    super("ObjectNotSealed", message);
    this.name = "ObjectNotSealedError";
  }
}

/** The object is already sealed. */
export class ObjectSealedError extends StoreError {
  constructor(message: string) {
    super("ObjectSealed", message);
    this.name = "ObjectSealedError";
  }
}

/** The object is referenced. */
export class ObjectInUseError extends StoreError {
  constructor(message: string) {
    super("ObjectInUse", message);
    this.name = "ObjectInUseError";
  }
}

/** This client may not do that (e.g. abort an object another client created). */
export class NotPermittedError extends StoreError {
  constructor(message: string) {
    super("NotPermitted", message);
    this.name = "NotPermittedError";
  }
}

/** The store refused the request as malformed, too large or over a limit. */
export class InvalidRequestError extends StoreError {
  constructor(message: string) {
    super("InvalidRequest", message);
    this.name = "InvalidRequestError";
  }
}

/** The connection to the store is closed or broken. */
export class ConnectionClosedError extends StoreError {
  constructor(message: string) {
    super("ConnectionClosed", message);
    this.name = "ConnectionClosedError";
  }
}

const BY_CODE: Partial<Record<ErrorCode, new (message: string) => StoreError>> = {
  [ErrorCode.ObjectExists]: ObjectExistsError,
  [ErrorCode.ObjectNonexistent]: ObjectNotFoundError,
  [ErrorCode.OutOfMemory]: OutOfMemoryError,
  [ErrorCode.OutOfDisk]: OutOfDiskError,
  [ErrorCode.ObjectNotSealed]: ObjectNotSealedError,
  [ErrorCode.ObjectSealed]: ObjectSealedError,
  [ErrorCode.ObjectInUse]: ObjectInUseError,
  [ErrorCode.NotPermitted]: NotPermittedError,
  [ErrorCode.InvalidRequest]: InvalidRequestError,
};

/** The typed error for a store error code. */
export function errorFromCode(code: ErrorCode, message: string): StoreError {
  const ErrorClass = BY_CODE[code];
  if (ErrorClass) return new ErrorClass(message);
  return new StoreError(ErrorCode[code] as StoreErrorCode ?? "UnexpectedError", message);
}
