/**
 * Cross-process tests of the native socket layer: real processes, a real Unix socket, a real
 * shared-memory fd passed between them.
 */
import assert from "node:assert/strict";
import { FrameConnection } from "../ffi/frame_connection.ts";
import { SharedMemoryChunk } from "../ffi/shared_memory.ts";
import { Status } from "../ffi/status.ts";
import { acceptUnix, listenUnix, peerCredentials } from "../ffi/unix_socket.ts";
import { closeFd } from "../ffi/shared_memory.ts";
import { COOKIE, PATTERN_BYTES, patternByte } from "./fixtures/fd_pattern.ts";

const PEER = new URL("./fixtures/fd_peer.ts", import.meta.url).pathname;

/** Listens in a fresh temp dir, starts the peer in `role`, and hands over the accepted connection. */
async function withPeer(
  role: string,
  body: (connection: FrameConnection, peer: Deno.ChildProcess) => Promise<void> | void,
): Promise<Deno.CommandStatus> {
  const directory = await Deno.makeTempDir();
  const path = `${directory}/peer.sock`;
  const listenFd = listenUnix(path);
  const peer = new Deno.Command(Deno.execPath(), { args: ["run", "-A", PEER, path, role], stderr: "piped" }).spawn();
  try {
    const connection = FrameConnection.adopt(await acceptWithin(listenFd, 20_000), { payloadBytesMax: 1024 });
    try {
      assert.equal(peerCredentials(connection.fd).pid, peer.pid);
      await body(connection, peer);
    } finally {
      connection.close();
    }
    return await peer.status;
  } finally {
    try {
      peer.kill("SIGKILL");
    } catch { /* already exited */ }
    await peer.stderr.cancel().catch(() => {});
    closeFd(listenFd);
    await Deno.remove(directory, { recursive: true });
  }
}

async function acceptWithin(listenFd: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const fd = acceptUnix(listenFd);
    if (fd !== null) return fd;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("peer did not connect");
}

/** Reads one frame without blocking the event loop (the peer is another process). */
async function readFrame(connection: FrameConnection, timeoutMs = 20_000): Promise<number> {
  const status = connection.read(0);
  if (status !== Status.would_block) return status;
  if (await connection.waitReadable(timeoutMs) === Status.timed_out) return Status.timed_out;
  return connection.read(0);
}

Deno.test("a chunk's fd sent to another process is mapped there, verified and written in place", async () => {
  using chunk = SharedMemoryChunk.create(PATTERN_BYTES * 2, { populate: true });
  const bytes = chunk.bytes();
  for (let index = 0; index < PATTERN_BYTES; index++) bytes[index] = patternByte(index);
  const status = await withPeer("mapAndReply", async (connection) => {
    const announcement = new Uint8Array(4);
    new DataView(announcement.buffer).setUint32(0, chunk.sizeBytes, true);
    assert.equal(connection.write(COOKIE, 1, announcement), Status.ok);
    assert.equal(connection.sendFd(chunk.fd), Status.ok);
    assert.equal(await readFrame(connection), Status.ok);
    assert.equal(new TextDecoder().decode(connection.payload()), "verified");
  });
  assert.equal(status.code, 0);
  for (let index = 0; index < PATTERN_BYTES; index++) {
    if (bytes[PATTERN_BYTES + index] !== (~patternByte(index) & 0xff)) assert.fail(`reply differs at byte ${index}`);
  }
});

Deno.test("a frame larger than the limit from another process is refused", async () => {
  await withPeer("sendOversized", async (connection) => {
    assert.equal(await readFrame(connection), Status.frame_too_large);
  });
});

Deno.test("a process that dies mid-frame is reported as disconnected", async () => {
  await withPeer("dieMidFrame", async (connection) => {
    let status = await readFrame(connection);
    while (status === Status.would_block) status = await readFrame(connection);
    assert.equal(status, Status.peer_closed);
    assert.equal(connection.counters().bufferedBytes, 24 + 100, "the partial frame arrived before the hang-up");
  });
});

Deno.test("two fds in one message from another process fail cleanly", async () => {
  await withPeer("sendTwoFds", async (connection) => {
    if (connection.counters().bufferedBytes === 0) await connection.waitReadable(20_000);
    assert.throws(
      () => connection.takeFd(0),
      (error: unknown) => error instanceof Error && /fd count invalid/.test(error.message),
    );
    assert.equal(connection.read(0), Status.fd_count_invalid, "the stream stays failed");
  });
});
