/**
 * Unix domain sockets owned by the native side (Deno cannot hand out a socket's raw fd, and fd
 * passing needs one): listen, accept, connect and peer credentials.
 * @module
 */
import { cString } from "./_buffers.ts";
import { native } from "./library.ts";
import { Status, unwrap } from "./status.ts";

/** Options for {@linkcode listenUnix}. */
export interface ListenOptions {
  /** Permission bits of the socket file (default 0o600: only the owner may connect). */
  mode?: number;
  /** Pending connections the kernel queues (default 1024). */
  backlog?: number;
}

/**
 * Listens on `path` with a non-blocking fd.
 * @throws {NativeError} `address_in_use` when the path exists, `name_too_long` past 107 bytes
 */
export function listenUnix(path: string, options: ListenOptions = {}): number {
  const fd = new Int32Array(1);
  const status = native().plasma_socket_listen(cString(path), options.mode ?? 0o600, options.backlog ?? 1024, fd);
  unwrap(status, `Listening on ${path}`);
  return fd[0];
}

/** Accepts one pending connection (non-blocking fd), or returns null when none is pending. */
export function acceptUnix(listenFd: number): number | null {
  const fd = new Int32Array(1);
  const status = native().plasma_socket_accept(listenFd, fd);
  if (status === Status.would_block) return null;
  unwrap(status, `Accepting on fd ${listenFd}`);
  return fd[0];
}

/**
 * Connects to the socket at `path`; the fd is blocking unless `nonBlocking` is set.
 * @throws {NativeError} `not_found` or `connection_refused` when no server listens there
 */
export function connectUnix(path: string, options: { nonBlocking?: boolean } = {}): number {
  const fd = new Int32Array(1);
  unwrap(native().plasma_socket_connect(cString(path), options.nonBlocking ? 1 : 0, fd), `Connecting to ${path}`);
  return fd[0];
}

/** The pid, uid and gid of the process at the other end of `fd`. */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  const out = new Int32Array(3);
  unwrap(native().plasma_socket_peer_credentials(fd, out), `Reading peer credentials of fd ${fd}`);
  return { pid: out[0], uid: out[1] >>> 0, gid: out[2] >>> 0 };
}

/** A connected pair of blocking stream sockets. */
export function socketPair(): [number, number] {
  const fds = new Int32Array(2);
  unwrap(native().plasma_socket_pair(fds), "Creating a socket pair");
  return [fds[0], fds[1]];
}
