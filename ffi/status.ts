/**
 * Native status codes and the one function that turns them into typed errors.
 * The table mirrors ffi/zig/status.zig in order; a test checks the count against the library.
 * @module
 */

/** Status names in native order: `STATUS_NAMES[code]`. */
export const STATUS_NAMES = [
  "ok",
  "would_block",
  "peer_closed",
  "frame_too_large",
  "buffer_too_small",
  "invalid_argument",
  "out_of_memory",
  "out_of_blocks",
  "invalid_offset",
  "no_space",
  "permission_denied",
  "not_found",
  "address_in_use",
  "connection_refused",
  "too_many_fds",
  "system_resources",
  "bad_fd",
  "fd_count_invalid",
  "fd_missing",
  "timed_out",
  "name_too_long",
  "not_supported",
  "file_too_big",
  "output_queue_full",
  "queued",
  "unexpected",
  "already_exists",
  "not_a_socket",
  "budget_exceeded",
] as const;

/** A native status name. */
export type StatusName = typeof STATUS_NAMES[number];

/** Status codes by name, for comparisons on hot paths without string work. */
export const Status: { readonly [K in StatusName]: number } = Object.fromEntries(
  STATUS_NAMES.map((name, code) => [name, code]),
) as { [K in StatusName]: number };

/** A failure reported by the native library, with its stable status. */
export class NativeError extends Error {
  /** The status name, stable across releases. */
  readonly status: StatusName;
  /** The numeric status code. */
  readonly code: number;

  /**
   * @param code the native status code
   * @param operation what was attempted, for the message
   */
  constructor(code: number, operation: string) {
    const status = statusName(code);
    super(`${operation} failed: ${status.replaceAll("_", " ")}`);
    this.name = "NativeError";
    this.status = status;
    this.code = code;
  }
}

/** The name of a status code, or "unexpected" for a code this table does not know. */
export function statusName(code: number): StatusName {
  return STATUS_NAMES[code] ?? "unexpected";
}

/**
 * Throws a {@linkcode NativeError} unless `code` is ok.
 * @param code the status a native call returned
 * @param operation what was attempted, for the error message
 * @throws {NativeError} when the status is not ok
 */
export function unwrap(code: number, operation: string): void {
  if (code !== 0) throw new NativeError(code, operation);
}
