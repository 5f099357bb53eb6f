/**
 * The TypeScript client of the round-trip benchmark: one blocking socket, synchronous blocking
 * FFI writes and reads (no Promise per request), the same protocol as bench/pingpong_native.zig.
 * Usage: deno run -A bench/pingpong_client.ts PATH N [--depth D] [--wait-go]
 *   N requests; D written before the D replies are read (default 1: one round trip each);
 *   --wait-go: connect and warm up, print `ready`, then start when a line arrives on stdin.
 * Prints one line of key=value pairs: rate (requests/s), requests, rounds, seconds, start_ms, end_ms.
 * @module
 */
import { FrameConnection } from "../ffi/frame_connection.ts";
import { NativeError, Status, statusName } from "../ffi/status.ts";
import { connectUnix } from "../ffi/unix_socket.ts";

const REQUEST_BYTES = 64;
const REQUEST_TYPE = 1;
const REQUEST_COOKIE = 7n;
const DEPTH_MAX = 256;
const WARMUP_REQUESTS = 1000;
const CONNECT_ATTEMPTS_MAX = 500;
const CONNECT_RETRY_MS = 10;

/** Connects, waiting a bounded time for a server that is still starting. */
function connectWithRetry(path: string): number {
  for (let attempt = 0;; attempt++) {
    try {
      return connectUnix(path);
    } catch (error) {
      const starting = error instanceof NativeError &&
        (error.status === "not_found" || error.status === "connection_refused");
      if (!starting || attempt >= CONNECT_ATTEMPTS_MAX) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, CONNECT_RETRY_MS);
    }
  }
}

function expectOk(status: number, what: string): void {
  if (status !== Status.ok) throw new Error(`pingpong_client: ${what} failed: ${statusName(status)}`);
}

/** `rounds` rounds of `depth` writes (queued, then sent with one flush) then `depth` blocking reads. */
function runRounds(connection: FrameConnection, payload: Uint8Array, rounds: number, depth: number): void {
  for (let round = 0; round < rounds; round++) {
    if (depth === 1) {
      expectOk(connection.write(REQUEST_COOKIE, REQUEST_TYPE, payload, -1), "write");
    } else {
      for (let index = 0; index < depth; index++) {
        expectOk(connection.queue(REQUEST_COOKIE, REQUEST_TYPE, payload), "queue");
      }
      expectOk(connection.flush(-1), "flush");
    }
    for (let index = 0; index < depth; index++) {
      expectOk(connection.read(-1), "read");
      if (connection.length !== REQUEST_BYTES) throw new Error(`pingpong_client: reply of ${connection.length} bytes`);
    }
  }
}

function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

function main(args: string[]): void {
  const [path, requestsText] = args;
  let depth = 1;
  let waitGo = false;
  for (let index = 2; index < args.length; index++) {
    if (args[index] === "--wait-go") waitGo = true;
    else if (args[index] === "--depth") depth = Number(args[++index]);
    else throw new RangeError(`Unknown argument ${args[index]}`);
  }
  const requestsTotal = Number(requestsText);
  if (!path || !Number.isInteger(requestsTotal) || !Number.isInteger(depth) || depth < 1 || depth > DEPTH_MAX) {
    throw new RangeError("usage: deno run -A bench/pingpong_client.ts PATH N [--depth D] [--wait-go]");
  }
  using connection = FrameConnection.adopt(connectWithRetry(path), { payloadBytesMax: 4096 });
  const payload = new Uint8Array(REQUEST_BYTES).fill(0xab);
  runRounds(connection, payload, Math.max(1, Math.floor(WARMUP_REQUESTS / depth)), depth);

  if (waitGo) {
    console.log("ready");
    Deno.stdin.readSync(new Uint8Array(1));
  }
  const rounds = Math.floor(requestsTotal / depth);
  const startMs = wallMs();
  runRounds(connection, payload, rounds, depth);
  const endMs = wallMs();
  const seconds = (endMs - startMs) / 1000;
  const requests = rounds * depth;
  console.log(
    `rate=${(requests / seconds).toFixed(0)} requests=${requests} rounds=${rounds} seconds=${seconds.toFixed(4)} ` +
      `start_ms=${startMs.toFixed(3)} end_ms=${endMs.toFixed(3)}`,
  );
}

if (import.meta.main) main(Deno.args);
