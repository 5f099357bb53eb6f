/**
 * Serves pulls to peers: authenticates each connection (HMAC challenge when a secret is set),
 * then streams every requested object in chunks straight from the local store's shared memory.
 * Invariant: a peer's bad input closes that peer's connection only; the object it asked for is
 * released whatever happens.
 * @module
 */
import { CHUNK_BYTES, HANDSHAKE_TIMEOUT_MS } from "../cluster/constants.ts";
import { ObjectId } from "../protocol/object_id.ts";
import type { PlasmaClient } from "../client/mod.ts";
import { makeNonce, prove, verifyProof } from "./peer_auth.ts";
import type { TransferCounters } from "./transfer_counters.ts";
import { FrameReader, FrameWriter, PeerProtocolError, PullError, TransferMessage } from "./transfer_frames.ts";

export interface TransferServerOptions {
  hostname: string;
  port: number;
  nodeId: string;
  /** The cluster secret; null lets anyone who reaches the port pull objects. */
  secret: Uint8Array | null;
  /** The local store, as a client (objects are read in place). */
  store: PlasmaClient;
  counters: TransferCounters;
  log: (message: string) => void;
}

export class TransferServer {
  readonly #listener: Deno.TcpListener;
  readonly #options: TransferServerOptions;
  readonly #connections = new Set<Deno.Conn>();
  readonly #accepting: Promise<void>;

  private constructor(listener: Deno.TcpListener, options: TransferServerOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#accepting = this.#accept();
  }

  /** Listens on exactly `hostname:port` (never a wildcard the caller did not ask for). */
  static listen(options: TransferServerOptions): TransferServer {
    return new TransferServer(Deno.listen({ hostname: options.hostname, port: options.port }), options);
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  /** Stops accepting and closes every peer connection. Safe twice. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const conn of this.#connections) closeQuietly(conn);
    await this.#accepting;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        conn.setNoDelay(true); // frames are small writes: never let Nagle hold one for an ACK
        this.#connections.add(conn);
        void this.#serve(conn).finally(() => {
          this.#connections.delete(conn);
          closeQuietly(conn);
        });
      }
    } catch { /* the listener was closed */ }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const reader = new FrameReader(conn);
    const writer = new FrameWriter(conn);
    try {
      if (!(await this.#handshake(conn, reader, writer))) return;
      for (let frame = await reader.next(); frame !== null; frame = await reader.next()) {
        if (frame.type !== TransferMessage.PullRequest) {
          throw new PeerProtocolError(`unexpected frame type ${frame.type} from a pulling peer`);
        }
        void this.#push(writer, frame.requestId, frame.objectId).catch(() => closeQuietly(conn));
      }
    } catch (error) {
      if (error instanceof PeerProtocolError) {
        this.#options.log(`peer ${remote(conn)} broke the protocol (${error.message}); disconnected`);
      }
    }
  }

  /** Challenge, Hello, Welcome. @returns false when the peer failed (it is then closed). */
  async #handshake(conn: Deno.Conn, reader: FrameReader, writer: FrameWriter): Promise<boolean> {
    const { secret, nodeId } = this.#options;
    const nonce = makeNonce();
    await writer.send({ type: TransferMessage.Challenge, nodeId, nonce, authRequired: secret !== null });
    const timer = setTimeout(() => closeQuietly(conn), HANDSHAKE_TIMEOUT_MS);
    try {
      const hello = await reader.next();
      if (hello === null || hello.type !== TransferMessage.Hello) {
        throw new PeerProtocolError("the first frame was not a Hello");
      }
      if (secret !== null && !verifyProof(secret, "client", nonce, hello.proof)) {
        this.#options.counters.numPeersRejected++;
        this.#options.log(`peer ${remote(conn)} failed authentication; disconnected`);
        return false;
      }
      const proof = secret === null ? new Uint8Array(0) : prove(secret, "server", hello.nonce);
      await writer.send({ type: TransferMessage.Welcome, proof });
      return true;
    } catch (error) {
      this.#options.counters.numPeersRejected++;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Streams one object: header, then chunks of data + metadata, views of the store's memory. */
  async #push(writer: FrameWriter, requestId: number, rawId: Uint8Array): Promise<void> {
    let id: ObjectId;
    try {
      id = ObjectId.fromBytes(rawId);
    } catch {
      return await writer.send({
        type: TransferMessage.PullFailed,
        requestId,
        error: PullError.ObjectNotFound,
        message: "bad id",
      });
    }
    const { store, counters } = this.#options;
    const [object] = await store.get([id], { timeoutMs: 0 });
    if (object === null) {
      const message = `object ${id} is not in this node's store`;
      return await writer.send({
        type: TransferMessage.PullFailed,
        requestId,
        error: PullError.ObjectNotFound,
        message,
      });
    }
    try {
      const { data, metadata } = object;
      const whole = new Uint8Array(data.buffer, data.byteOffset, data.length + metadata.length);
      const header = {
        type: TransferMessage.ObjectHeader,
        requestId,
        dataSize: data.length,
        metadataSize: metadata.length,
      } as const;
      if (whole.length === 0) await writer.send(header);
      for (let offset = 0; offset < whole.length; offset += CHUNK_BYTES) {
        const payload = whole.subarray(offset, Math.min(offset + CHUNK_BYTES, whole.length));
        const chunk = { type: TransferMessage.ChunkHeader, requestId, offset, payloadBytes: payload.length } as const;
        // The header travels with the first chunk: one write for a small object.
        await writer.send(offset === 0 ? [header, chunk] : chunk, payload);
        counters.numBytesPushed += payload.length;
      }
      counters.numObjectsPushed++;
    } finally {
      await store.release(id);
    }
  }
}

function remote(conn: Deno.Conn): string {
  const address = conn.remoteAddr as Deno.NetAddr;
  return `${address.hostname}:${address.port}`;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
