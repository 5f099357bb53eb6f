/**
 * A framed connection over a native socket: 24-byte headers (cookie, type, length as
 * little-endian int64) then the payload; fds passed after frames, one per message.
 * Reads fill this object's header and payload buffers, so the hot path allocates nothing.
 * @module
 */
import { handleFrom } from "./_buffers.ts";
import { native } from "./library.ts";
import { NativeError, Status, unwrap } from "./status.ts";

/** poll(2)'s POLLIN, as the native wait takes it. */
const POLL_IN = 1;
/** Bytes of a frame header: cookie, type and payload length as little-endian int64 (ffi/zig/constants.zig). */
export const FRAME_HEADER_BYTES = 24;
/** The native connection's hard limit on a frame payload (ffi/zig/constants.zig). */
export const FRAME_PAYLOAD_BYTES_MAX = 1024 * 1024 * 1024;
/** A connection's own payload buffer starts this small (thousands of idle connections cost little)... */
const PAYLOAD_BUFFER_BYTES_INITIAL = 4 * 1024;
/** ...and is kept after growing up to this; a larger frame gets a buffer of its own, dropped at the next read. */
const PAYLOAD_BUFFER_BYTES_RETAINED_MAX = 64 * 1024;

/** Options for a {@linkcode FrameConnection}. */
export interface FrameConnectionOptions {
  /** Largest payload accepted or sent (default 64 MiB). */
  payloadBytesMax?: number;
  /** Largest payload sent, when it differs from what is accepted (default: payloadBytesMax). */
  sendPayloadBytesMax?: number;
  /**
   * Frames of at least this many bytes are read in place from the native buffer instead of
   * copied (default: never). For callers that keep no view of a payload past the next read,
   * takeFd or close: the memory is given back at once instead of at V8's next GC.
   */
  lendFramesFromBytes?: number;
}

/** What a connection holds, from {@linkcode FrameConnection.counters}. */
export interface ConnectionCounters {
  bufferedBytes: number;
  queuedBytes: number;
  receiveBufferBytes: number;
  sendBufferBytes: number;
  receiveBytesWanted: number;
}

/** The native receive buffer's size while no large frame is arriving (ffi/zig/constants.zig). */
export const RECEIVE_BUFFER_BYTES_INITIAL = 64 * 1024;

/** One framed connection; owns its fd. */
export class FrameConnection {
  /** The socket fd. */
  readonly fd: number;
  /** Header of the last frame read, as u32 halves: [cookieLo, cookieHi, typeLo, typeHi, lenLo, lenHi]. */
  readonly header: Uint32Array<ArrayBuffer> = new Uint32Array(FRAME_HEADER_BYTES / 4);
  #handle: Deno.PointerObject | null;
  /** Frames that fit are copied here (it grows up to PAYLOAD_BUFFER_BYTES_RETAINED_MAX). */
  #buffer = new Uint8Array(PAYLOAD_BUFFER_BYTES_INITIAL);
  /** The last frame's payload: #buffer, a buffer of its own, or a view of the native buffer (lent). */
  #payload = this.#buffer;
  #lent = false;
  readonly #lendFromBytes: number;
  readonly #fdOut = new Int32Array(1);
  readonly #lentOut = new BigUint64Array(1);
  readonly #counters = new BigUint64Array(5);

  private constructor(fd: number, handle: Deno.PointerObject, lendFromBytes: number) {
    this.fd = fd;
    this.#handle = handle;
    this.#lendFromBytes = lendFromBytes;
  }

  /**
   * Wraps a connected socket fd; the connection owns it from now on.
   * @throws {NativeError} when the fd is not valid
   */
  static adopt(fd: number, options: FrameConnectionOptions = {}): FrameConnection {
    const slot = new BigUint64Array(1);
    const payloadBytesMax = options.payloadBytesMax ?? 64 * 1024 * 1024;
    const sendBytesMax = options.sendPayloadBytesMax ?? payloadBytesMax;
    const status = native().plasma_connection_create(fd, BigInt(payloadBytesMax), BigInt(sendBytesMax), slot);
    unwrap(status, `Opening a connection on fd ${fd}`);
    return new FrameConnection(fd, handleFrom(slot), options.lendFramesFromBytes ?? Infinity);
  }

  /** Type of the last frame read. */
  get type(): number {
    return this.header[2];
  }

  /** Payload length of the last frame read. */
  get length(): number {
    return this.header[4];
  }

  /** Whether the last frame's cookie equals the two 32-bit halves given. */
  cookieIs(low: number, high: number): boolean {
    return this.header[0] === low >>> 0 && this.header[1] === high >>> 0;
  }

  /**
   * The payload of the last frame read: a view valid until the next read, takeFd or close (a
   * large payload is a view of the native receive buffer, which those may move or free).
   */
  payload(): Uint8Array<ArrayBuffer> {
    return this.#payload.subarray(0, this.header[4]);
  }

  /**
   * Reads the next whole frame. Returns a status: ok (frame in `header`/`payload()`),
   * would_block / timed_out (no frame yet), or a failure such as peer_closed or frame_too_large.
   * @param waitMs 0: never wait; -1: wait forever; otherwise wait up to that long (blocks the thread)
   */
  read(waitMs = 0): number {
    const handle = this.#live();
    this.#payload = this.#buffer;
    this.#lent = false;
    const status = native().plasma_connection_read_frame(
      handle,
      this.header,
      this.#buffer,
      this.#buffer.length,
      waitMs,
    );
    return status === Status.buffer_too_small ? this.#readLarger(handle, waitMs) : status;
  }

  /**
   * The next frame of a burst: like read(0), but when no whole frame is buffered and the last
   * receive found the socket empty, would_block without asking the kernel. For callers driven by
   * a level-triggered poller, which reports bytes that arrive later: this saves the receive that
   * fails with EAGAIN after the last frame (one per request of a client that awaits its replies).
   */
  readNext(): number {
    const handle = this.#live();
    this.#payload = this.#buffer;
    this.#lent = false;
    const status = native().plasma_connection_read_buffered_frame(
      handle,
      this.header,
      this.#buffer,
      this.#buffer.length,
    );
    return status === Status.buffer_too_small ? this.#readLarger(handle, 0) : status;
  }

  /** The frame in the native buffer is larger than our buffer: lent in place, or copied into a larger one. */
  #readLarger(handle: Deno.PointerObject, waitMs: number): number {
    const length = this.header[4];
    if (length >= this.#lendFromBytes) return this.#lend(handle, waitMs);
    this.#payload = new Uint8Array(
      Math.max(length, Math.min(this.#buffer.length * 2, PAYLOAD_BUFFER_BYTES_RETAINED_MAX)),
    );
    if (this.#payload.length <= PAYLOAD_BUFFER_BYTES_RETAINED_MAX) this.#buffer = this.#payload;
    return native().plasma_connection_read_frame(handle, this.header, this.#payload, this.#payload.length, waitMs);
  }

  /**
   * A large frame read in place, not copied into a buffer only the GC would free: the native
   * buffer shrinks back as soon as the next read consumes it.
   */
  #lend(handle: Deno.PointerObject, waitMs: number): number {
    const status = native().plasma_connection_lend_frame(handle, this.header, this.#lentOut, waitMs);
    if (status !== Status.ok) return status;
    const pointer = Deno.UnsafePointer.create(this.#lentOut[0])!;
    this.#payload = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer, this.header[4]));
    this.#lent = true;
    return status;
  }

  /** Before the native buffer may move or be freed, a lent payload becomes a copy of our own. */
  #keepLent(): void {
    if (!this.#lent) return;
    this.#payload = this.#payload.slice();
    this.#lent = false;
  }

  /**
   * Sets the largest receive buffer this connection may grow to (a memory budget). A read that
   * needs more returns `budget_exceeded` (the stream is intact): raise the allowance and read
   * again, or refuse the client. The grant lapses when the buffer shrinks back after the frame.
   */
  allowReceiveBytes(bytes: number): void {
    native().plasma_connection_allow_receive_bytes(this.#live(), BigInt(bytes));
  }

  /**
   * Writes one frame. Returns ok when sent, queued when it waits for the socket to drain
   * (call {@linkcode flush} when writable), or a failure status.
   * @param cookie the header's first word (protocol cookie or version)
   */
  write(cookie: bigint, type: number, payload: Uint8Array, waitMs = 0): number {
    return native().plasma_connection_write_frame(this.#live(), cookie, type, payload, payload.length, waitMs);
  }

  /**
   * Queues one frame without sending it; {@linkcode flush} sends everything queued in one go.
   * Returns ok, or a failure status (frame_too_large, output_queue_full).
   */
  queue(cookie: bigint, type: number, payload: Uint8Array): number {
    return native().plasma_connection_queue_frame(this.#live(), cookie, type, payload, payload.length);
  }

  /**
   * Queues raw bytes (no frame header), for a stream of another format (Arrow's notification
   * socket). Returns ok, or a failure status (frame_too_large, output_queue_full).
   */
  queueBytes(bytes: Uint8Array): number {
    return native().plasma_connection_queue_bytes(this.#live(), bytes, bytes.length);
  }

  /** Sends `fd` after everything written so far (the caller keeps its own copy). Returns a status. */
  sendFd(fd: number, waitMs = 0): number {
    return native().plasma_connection_send_fd(this.#live(), fd, waitMs);
  }

  /**
   * Takes the fd that follows the frame just read.
   * @throws {NativeError} `fd_missing` or `fd_count_invalid` when the peer broke the protocol
   */
  takeFd(waitMs = -1): number {
    this.#keepLent();
    unwrap(native().plasma_connection_take_fd(this.#live(), waitMs, this.#fdOut), `Receiving an fd on fd ${this.fd}`);
    return this.#fdOut[0];
  }

  /**
   * Takes the fd that follows the frame just read if it has arrived; null when it has not yet.
   * @throws {NativeError} when the peer broke the protocol or closed the stream
   */
  takeFdIfArrived(): number | null {
    this.#keepLent();
    const status = native().plasma_connection_take_fd(this.#live(), 0, this.#fdOut);
    if (status === Status.would_block) return null;
    unwrap(status, `Receiving an fd on fd ${this.fd}`);
    return this.#fdOut[0];
  }

  /** Sends queued output: ok when all is sent, queued when the socket is still full. */
  flush(waitMs = 0): number {
    return native().plasma_connection_flush(this.#live(), waitMs);
  }

  /**
   * Bytes received but not yet read as frames, bytes queued but not yet sent, the native
   * buffers' sizes, and the receive buffer size the last `budget_exceeded` read wanted.
   */
  counters(): ConnectionCounters {
    native().plasma_connection_counters(this.#live(), this.#counters);
    return {
      bufferedBytes: Number(this.#counters[0]),
      queuedBytes: Number(this.#counters[1]),
      receiveBufferBytes: Number(this.#counters[2]),
      sendBufferBytes: Number(this.#counters[3]),
      receiveBytesWanted: Number(this.#counters[4]),
    };
  }

  /** Bytes queued but not yet sent (saturated at 2^32-1): cheaper than {@linkcode counters} per request. */
  queuedBytes(): number {
    return native().plasma_connection_queued_bytes(this.#live());
  }

  /** Waits on a native thread until the socket is readable; resolves to ok or timed_out. */
  waitReadable(timeoutMs: number): Promise<number> {
    this.#live();
    return native().plasma_fd_wait_async(this.fd, POLL_IN, timeoutMs);
  }

  /** Whether close() has run. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /** Closes the socket and any fds received but not taken. Safe to call twice. */
  close(): void {
    if (this.#handle === null) return;
    this.#keepLent();
    native().plasma_connection_destroy(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #live(): Deno.PointerObject {
    if (this.#handle === null) throw new NativeError(Status.bad_fd, `Using closed connection fd ${this.fd}`);
    return this.#handle;
  }
}
