/**
 * Serves pulls to peers: authenticates each connection (HMAC challenge when a secret is set),
 * then streams every requested object in chunks straight from the local store's shared memory
 * (the requests that arrive together are answered by one store get, small objects in one write).
 * A large object already streaming to one node is relayed: the next puller is redirected to the
 * last node of that chain, and a node relays an object it is receiving from the prefix arrived.
 * Invariant: a peer's bad input closes that peer's connection only; the object it asked for is
 * released whatever happens.
 * @module
 */
import {
  CHUNK_BYTES,
  HANDSHAKE_TIMEOUT_MS,
  RELAY_BYTES_MIN,
  RELAY_ENABLED,
  SERVE_BATCH_REQUESTS_MAX,
} from "../cluster/constants.ts";
import { ObjectId } from "../protocol/object_id.ts";
import type { PlasmaClient, PlasmaObject } from "../client/mod.ts";
import { makeNonce, prove, verifyProof } from "./peer_auth.ts";
import type { ReceivingObject } from "./receiving_object.ts";
import type { SpilledObject } from "../store/store_events.ts";
import { SpillDamagedError, spillFailure, streamFromSpillFile } from "./spill_stream.ts";
import type { TransferCounters } from "./transfer_counters.ts";
import {
  FrameReader,
  FrameWriter,
  PeerProtocolError,
  PullError,
  SMALL_PAYLOAD_BYTES_MAX,
  type TransferFrame,
  TransferMessage,
} from "./transfer_frames.ts";

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
  /** The object this node is receiving under that id, if any (relayed from what has arrived). */
  receiving?: (objectIdHex: string) => ReceivingObject | undefined;
  /** Where the object is spilled, if the store has it only on disk (served from the file). */
  spilled?: (objectIdHex: string) => SpilledObject | undefined;
}

export class TransferServer {
  readonly #listener: Deno.TcpListener;
  readonly #options: TransferServerOptions;
  readonly #connections = new Set<Deno.Conn>();
  readonly #accepting: Promise<void>;
  /** Per object being streamed to a node: that node, then the nodes redirected down the chain. */
  readonly #chains = new Map<string, string[]>();

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
      const peerAddress = await this.#handshake(conn, reader, writer);
      if (peerAddress === null) return;
      const peer = { writer, address: peerAddress, cancel: () => closeQuietly(conn) };
      const batch = new ServeBatch((requests) => this.#serveBatch(peer, requests).catch(() => closeQuietly(conn)));
      for (let frame = await reader.next(); frame !== null; frame = await reader.next()) {
        if (frame.type !== TransferMessage.PullRequest) {
          throw new PeerProtocolError(`unexpected frame type ${frame.type} from a pulling peer`);
        }
        const role = this.#joinChain(frame.objectId, peerAddress, frame.allowRedirect);
        batch.add({ requestId: frame.requestId, rawId: frame.objectId, role });
      }
    } catch (error) {
      if (error instanceof PeerProtocolError) {
        this.#options.log(`peer ${remote(conn)} broke the protocol (${error.message}); disconnected`);
      }
    }
  }

  /** Challenge, Hello, Welcome. @returns the peer's own serving address ("" if none), or null when
   * the peer failed (it is then closed). */
  async #handshake(conn: Deno.Conn, reader: FrameReader, writer: FrameWriter): Promise<string | null> {
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
        return null;
      }
      const proof = secret === null ? new Uint8Array(0) : prove(secret, "server", hello.nonce);
      await writer.send({ type: TransferMessage.Welcome, proof });
      return hello.address;
    } catch (error) {
      this.#options.counters.numPeersRejected++;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Answers the pull requests that arrived together: one store get for all of them (one round
   * trip instead of one per object), then every small answer (objects, redirects, refusals) in one
   * write, then each large or relayed object in chunks. Every object got is released whatever
   * happens.
   */
  async #serveBatch(peer: Peer, requests: PullRequestOf[]): Promise<void> {
    const { store } = this.#options;
    const ids = requests.map((request) => parseId(request.rawId));
    // A spilled object is read from its file: a store get would restore it first.
    const onDisk = ids.map((id) => id === null ? undefined : this.#options.spilled?.(id.toHex()));
    const valid = ids.filter((id, index): id is ObjectId => id !== null && onDisk[index] === undefined);
    let objects: (PlasmaObject | null)[] = [];
    try {
      if (valid.length > 0) objects = await store.get(valid, { timeoutMs: 0 });
      const byKey = new Map(valid.map((id, index) => [id.key, objects[index]]));
      const small: { frames: TransferFrame[]; payload: Uint8Array }[] = [];
      const streams: (() => Promise<void>)[] = [];
      requests.forEach((request, index) => {
        const id = ids[index];
        const { requestId } = request;
        const object = id === null ? null : byKey.get(id.key) ?? null;
        const receiving = id === null || object !== null ? undefined : this.#options.receiving?.(id.toHex());
        const relayable = RELAY_ENABLED && object !== null && sizeOf(object) >= RELAY_BYTES_MIN;
        const { role } = request;
        const spilled = onDisk[index];
        if (spilled !== undefined) streams.push(() => this.#fromSpillFile(peer, requestId, spilled));
        else if (receiving !== undefined) streams.push(() => this.#relay(peer, requestId, id!, receiving));
        else if (object === null) small.push(notFound(requestId, id));
        else if (sizeOf(object) <= SMALL_PAYLOAD_BYTES_MAX) small.push(this.#smallAnswer(requestId, object));
        else if (relayable && role.relay !== null) {
          this.#options.log(`redirected the pull of ${object.id} by ${peer.address} to relay ${role.relay}`);
          small.push(redirect(requestId, role.relay));
        } else {
          streams.push(() => this.#stream(peer.writer, requestId, object));
        }
      });
      if (small.length > 0) await peer.writer.sendSmall(small);
      // Settle every stream before the finally releases (unmaps) what they write from.
      const streamed = await Promise.allSettled(streams.map((stream) => stream()));
      const failed = streamed.find((outcome) => outcome.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    } finally {
      // A chain lasts while its head's stream does (settled above).
      for (const { role } of requests) if (role.head) this.#chains.delete(role.key);
      for (const object of objects) if (object !== null) await store.release(object.id);
    }
  }

  /**
   * Places a pull request in its object's chain as it arrives (before the store get, so pulls
   * that arrive together already chain): the first puller with an address heads it (the chain
   * ends when its stream does); a later one that allows it will be redirected to the chain's last
   * node, if the object proves large enough to relay.
   */
  #joinChain(rawId: Uint8Array, peerAddress: string, allowRedirect: boolean): ChainRole {
    const key = parseId(rawId)?.key;
    if (key === undefined || peerAddress === "") return { key: "", head: false, relay: null };
    const chain = this.#chains.get(key);
    if (chain === undefined) {
      this.#chains.set(key, [peerAddress]);
      return { key, head: true, relay: null };
    }
    if (!allowRedirect || chain.includes(peerAddress)) return { key, head: false, relay: null };
    const relay = chain[chain.length - 1];
    chain.push(peerAddress);
    return { key, head: false, relay };
  }

  /**
   * Streams an object this node is still receiving: each chunk as soon as it arrived, from the
   * buffer being written; once the object is sealed, the rest from the store. A failed receive
   * fails this pull with SourceFailed (the puller retries elsewhere).
   */
  async #relay(peer: Peer, requestId: number, id: ObjectId, receiving: ReceivingObject): Promise<void> {
    const { counters, log } = this.#options;
    const { dataSize, metadataSize } = receiving;
    const header: TransferFrame = { type: TransferMessage.ObjectHeader, requestId, dataSize, metadataSize };
    const total = dataSize + metadataSize;
    log(`relaying object ${id} to ${peer.address || "a peer"} from the copy being received`);
    if (total === 0) return await peer.writer.send(header);
    for (let offset = 0; offset < total;) {
      let lent: Awaited<ReturnType<ReceivingObject["lend"]>>;
      try {
        lent = await receiving.lend(offset, CHUNK_BYTES, peer.cancel);
      } catch (error) {
        const message = `the relay lost object ${id}: ${(error as Error).message}`;
        return await peer.writer.send({
          type: TransferMessage.PullFailed,
          requestId,
          error: PullError.SourceFailed,
          message,
        });
      }
      if (lent === "sealed") return await this.#finishFromStore(peer, requestId, id, offset);
      try {
        const chunk = { type: TransferMessage.ChunkHeader, requestId, offset, payloadBytes: lent.view.length } as const;
        await peer.writer.send(offset === 0 ? [header, chunk] : chunk, lent.view);
      } finally {
        lent.done();
      }
      offset += lent.view.length;
      counters.numBytesPushed += lent.view.length;
    }
    counters.numObjectsPushed++;
  }

  /** Streams a spilled object from its file; a missing or damaged file fails this pull only. */
  async #fromSpillFile(peer: Peer, requestId: number, object: SpilledObject): Promise<void> {
    const { counters, log } = this.#options;
    try {
      counters.numBytesPushed += await streamFromSpillFile(peer.writer, requestId, object);
      counters.numObjectsPushed++;
      log(`served object ${object.objectIdHex} to ${peer.address || "a peer"} from its spill file`);
    } catch (error) {
      if (!(error instanceof SpillDamagedError) && !(error instanceof Deno.errors.NotFound)) throw error;
      log(`cannot serve object ${object.objectIdHex} from its spill file: ${error.message}`);
      await peer.writer.send(spillFailure(requestId, error));
    }
  }

  /** Streams the rest of a relayed object, sealed meanwhile, from the store. */
  async #finishFromStore(peer: Peer, requestId: number, id: ObjectId, offset: number): Promise<void> {
    const { store } = this.#options;
    const [object] = await store.get([id], { timeoutMs: 0 });
    if (object === null) {
      const message = `object ${id} left this node's store while it was relayed`;
      return await peer.writer.send({
        type: TransferMessage.PullFailed,
        requestId,
        error: PullError.SourceFailed,
        message,
      });
    }
    try {
      await this.#stream(peer.writer, requestId, object, offset);
    } finally {
      await store.release(id);
    }
  }

  /** One small object's header, chunk frame and payload (a view of the store's memory). */
  #smallAnswer(requestId: number, object: PlasmaObject): { frames: TransferFrame[]; payload: Uint8Array } {
    const payload = wholeOf(object);
    const frames: TransferFrame[] = [objectHeader(requestId, object)];
    if (payload.length > 0) {
      frames.push({ type: TransferMessage.ChunkHeader, requestId, offset: 0, payloadBytes: payload.length });
    }
    this.#options.counters.numBytesPushed += payload.length;
    this.#options.counters.numObjectsPushed++;
    return { frames, payload };
  }

  /** Streams one object from `start` (header first when 0), chunks of data + metadata, views of
   * the store's memory. */
  async #stream(writer: FrameWriter, requestId: number, object: PlasmaObject, start = 0): Promise<void> {
    const { counters } = this.#options;
    const whole = wholeOf(object);
    const header = objectHeader(requestId, object);
    for (let offset = start; offset < whole.length; offset += CHUNK_BYTES) {
      const payload = whole.subarray(offset, Math.min(offset + CHUNK_BYTES, whole.length));
      const chunk = { type: TransferMessage.ChunkHeader, requestId, offset, payloadBytes: payload.length } as const;
      // The header travels with the first chunk.
      await writer.send(offset === 0 ? [header, chunk] : chunk, payload);
      counters.numBytesPushed += payload.length;
    }
    counters.numObjectsPushed++;
  }
}

interface PullRequestOf {
  requestId: number;
  rawId: Uint8Array;
  role: ChainRole;
}

/** A pull's place in its object's relay chain: its head (served from here), or redirected to `relay`. */
interface ChainRole {
  key: string;
  head: boolean;
  relay: string | null;
}

/** One authenticated pulling peer: how to answer it, where it serves (for relays), how to cut it. */
interface Peer {
  writer: FrameWriter;
  address: string;
  cancel: () => void;
}

/**
 * Gathers the pull requests that one read of the socket brought (they decode in microtasks) and
 * hands them over together once the reader waits for more: a timer of 0 fires only then. An id
 * repeated in a batch starts the next batch, so one store get never names an object twice.
 */
class ServeBatch {
  readonly #serve: (requests: PullRequestOf[]) => void;
  #requests: PullRequestOf[] = [];
  readonly #keys = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(serve: (requests: PullRequestOf[]) => void) {
    this.#serve = serve;
  }

  add(request: PullRequestOf): void {
    const key = request.rawId.join(",");
    if (this.#keys.has(key) || this.#requests.length >= SERVE_BATCH_REQUESTS_MAX) this.#flush();
    this.#requests.push(request);
    this.#keys.add(key);
    this.#timer ??= setTimeout(() => this.#flush(), 0);
  }

  #flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const requests = this.#requests;
    this.#requests = [];
    this.#keys.clear();
    if (requests.length > 0) this.#serve(requests);
  }
}

function parseId(rawId: Uint8Array): ObjectId | null {
  try {
    return ObjectId.fromBytes(rawId);
  } catch {
    return null;
  }
}

function sizeOf(object: PlasmaObject): number {
  return object.data.length + object.metadata.length;
}

/** Data and metadata are adjacent in the store's memory: one view covers both. */
function wholeOf(object: PlasmaObject): Uint8Array {
  const { data, metadata } = object;
  return new Uint8Array(data.buffer, data.byteOffset, data.length + metadata.length);
}

function objectHeader(requestId: number, object: PlasmaObject): TransferFrame {
  return {
    type: TransferMessage.ObjectHeader,
    requestId,
    dataSize: object.data.length,
    metadataSize: object.metadata.length,
  };
}

function notFound(requestId: number, id: ObjectId | null): { frames: TransferFrame[]; payload: Uint8Array } {
  const message = id === null ? "bad id" : `object ${id} is not in this node's store`;
  const frame: TransferFrame = {
    type: TransferMessage.PullFailed,
    requestId,
    error: PullError.ObjectNotFound,
    message,
  };
  return { frames: [frame], payload: new Uint8Array(0) };
}

function redirect(requestId: number, address: string): { frames: TransferFrame[]; payload: Uint8Array } {
  return { frames: [{ type: TransferMessage.Redirect, requestId, address }], payload: new Uint8Array(0) };
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
