/**
 * The TypeScript side of the round-trip benchmark: listens on a Unix socket and answers every
 * frame with a 64-byte reply, driven by the spin-then-block EventLoop. A frame of type
 * {@linkcode STATS_REQUEST_TYPE} is answered with the loop's counters and the ticks of a 10 ms
 * interval timer, so a driver can check that timers keep firing while the loop is busy or idle.
 * Usage: deno run -A bench/pingpong_server.ts PATH   (prints `listening PATH`, runs until killed)
 * PINGPONG_SPIN_MICROS overrides the loop's spin time (default: the EventLoop's 50 us), for experiments.
 * @module
 */
import { FrameConnection } from "../ffi/frame_connection.ts";
import { native } from "../ffi/library.ts";
import { Poller } from "../ffi/poller.ts";
import { Status } from "../ffi/status.ts";
import { acceptUnix, listenUnix } from "../ffi/unix_socket.ts";
import { EventLoop } from "../src/net/event_loop.ts";

/** Frame type asking for the server's counters instead of a plain reply. */
export const STATS_REQUEST_TYPE = 2;
/** Interval of the timer whose ticks prove that timers run. */
export const TICK_INTERVAL_MS = 10;
/** Layout of a stats reply: Float64 slots of the 64-byte payload. */
export const STATS_SLOTS = { ticks: 0, syncPolls: 1, blockingWaits: 2, events: 3, connections: 4, frames: 5 } as const;

const REPLY_BYTES = 64;
const LISTEN_TOKEN = 0;
const CONNECTIONS_MAX = 4096;
const REPLY_COOKIE = 1n;

function main(path: string): void {
  const listenFd = listenUnix(path);
  const poller = new Poller();
  poller.add(listenFd, LISTEN_TOKEN);
  const connections = new Map<number, FrameConnection>();
  const reply = new Uint8Array(REPLY_BYTES);
  const stats = new Float64Array(REPLY_BYTES / 8);
  const statsBytes = new Uint8Array(stats.buffer);
  let nextToken = LISTEN_TOKEN + 1;
  let ticks = 0;
  let frames = 0;
  setInterval(() => ticks++, TICK_INTERVAL_MS);

  const drop = (token: number, connection: FrameConnection) => {
    poller.remove(connection.fd);
    connection.close();
    connections.delete(token);
  };

  const acceptPending = () => {
    for (let fd = acceptUnix(listenFd); fd !== null; fd = acceptUnix(listenFd)) {
      if (connections.size >= CONNECTIONS_MAX) {
        native().plasma_fd_close(fd);
        continue;
      }
      const token = nextToken++;
      connections.set(token, FrameConnection.adopt(fd, { payloadBytesMax: 4096 }));
      poller.add(fd, token);
    }
  };

  const answer = (token: number) => {
    const connection = connections.get(token);
    if (connection === undefined) return;
    let status = connection.read(0);
    while (status === Status.ok) {
      frames++;
      let written: number;
      if (connection.type === STATS_REQUEST_TYPE) {
        stats[STATS_SLOTS.ticks] = ticks;
        stats[STATS_SLOTS.syncPolls] = loop.counters.syncPolls;
        stats[STATS_SLOTS.blockingWaits] = loop.counters.blockingWaits;
        stats[STATS_SLOTS.events] = loop.counters.events;
        stats[STATS_SLOTS.connections] = connections.size;
        stats[STATS_SLOTS.frames] = frames;
        written = connection.queue(REPLY_COOKIE, STATS_REQUEST_TYPE, statsBytes);
      } else {
        written = connection.queue(REPLY_COOKIE, connection.type, reply);
      }
      if (written !== Status.ok) return drop(token, connection);
      status = connection.read(0);
    }
    // One send for every reply to the frames drained above. Replies are tiny and clients read
    // them: blocking here until a backlog drains is acceptable for a benchmark.
    if (connection.flush(-1) !== Status.ok) return drop(token, connection);
    // A hang-up shows as peer_closed once the buffered frames are read; anything else is fatal too.
    if (status !== Status.would_block) drop(token, connection);
  };

  const spinOverride = Deno.env.get("PINGPONG_SPIN_MICROS");
  const spinMicros = spinOverride === undefined ? undefined : Number(spinOverride);
  const loop = new EventLoop(poller, (token) => {
    if (token === LISTEN_TOKEN) acceptPending();
    else answer(token);
  }, { spinMicros });
  loop.start().catch((error) => {
    console.error("pingpong_server: event loop failed:", error);
    Deno.exit(1);
  });
  console.log(`listening ${path}`);
}

if (import.meta.main) {
  const path = Deno.args[0];
  if (!path) {
    console.error("usage: deno run -A bench/pingpong_server.ts PATH");
    Deno.exit(2);
  }
  main(path);
}
