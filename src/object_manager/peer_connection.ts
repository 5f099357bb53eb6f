/**
 * One authenticated connection to a peer's transfer server, pulling objects over it: each pull's
 * chunks are read from the socket straight into the destination (a view of this node's shared
 * memory). Invariant: a pull resolves only after every byte of data and metadata arrived in order;
 * any failure of the connection rejects every pull on it.
 * @module
 */
import { HANDSHAKE_TIMEOUT_MS } from "../cluster/constants.ts";
import { makeNonce, prove, verifyProof } from "./peer_auth.ts";
import {
  FrameReader,
  FrameWriter,
  PeerProtocolError,
  PullError,
  SMALL_PAYLOAD_BYTES_MAX,
  type TransferFrame,
  TransferMessage,
} from "./transfer_frames.ts";

/** The peer asked us to pull the object from `address`, a node receiving it that relays it. */
export class PullRedirectedError extends Error {
  readonly address: string;
  constructor(peer: string, address: string) {
    super(`Peer ${peer} redirected the pull to ${address}`);
    this.name = "PullRedirectedError";
    this.address = address;
  }
}

/** Options of {@linkcode PeerConnection.pull}. */
export interface PullOptions {
  /** Called after each chunk arrived, with its size. */
  onProgress?: (bytes: number) => void;
  /** The peer may answer with a redirect to a relay instead of the bytes (default false). */
  allowRedirect?: boolean;
}

/** A pull the peer could not serve (it does not hold the object, or its store failed). */
export class PullFailedError extends Error {
  readonly notFound: boolean;
  constructor(message: string, notFound: boolean) {
    super(message);
    this.name = "PullFailedError";
    this.notFound = notFound;
  }
}

interface PendingPull {
  target: Uint8Array;
  dataSize: number;
  metadataSize: number;
  received: number;
  headerSeen: boolean;
  onProgress: (bytes: number) => void;
  /** Set while a read writes into `target`: the pull fails only once that read ended, so the
   * caller never aborts (frees) memory the socket is still writing into. */
  writing: boolean;
  failure: Error | null;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class PeerConnection {
  readonly address: string;
  readonly #conn: Deno.Conn;
  readonly #reader: FrameReader;
  readonly #writer: FrameWriter;
  readonly #pending = new Map<number, PendingPull>();
  /** Pending pulls with a target over SMALL_PAYLOAD_BYTES_MAX (kept as they come and go: frames
   * of thousands of small pulls must not each scan the pending map). */
  #largePending = 0;
  readonly #requests: TransferFrame[] = [];
  #nextRequestId = 1;
  #closed = false;

  private constructor(address: string, conn: Deno.Conn, reader: FrameReader, writer: FrameWriter) {
    this.address = address;
    this.#conn = conn;
    this.#reader = reader;
    this.#writer = writer;
    void this.#readLoop();
  }

  /**
   * Connects to `HOST:PORT` and authenticates both ways when `secret` is set. `ownAddress` (where
   * this node serves peers) lets the peer redirect others here to be relayed; "" when none.
   * @throws {Error} when the peer cannot be reached or fails authentication
   */
  static async connect(
    address: string,
    nodeId: string,
    secret: Uint8Array | null,
    ownAddress = "",
  ): Promise<PeerConnection> {
    const { hostname, port } = parseAddress(address);
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    const reader = new FrameReader(conn);
    const writer = new FrameWriter(conn);
    const timer = setTimeout(() => closeQuietly(conn), HANDSHAKE_TIMEOUT_MS);
    try {
      const challenge = await reader.next();
      if (challenge?.type !== TransferMessage.Challenge) throw new PeerProtocolError("no Challenge from the peer");
      if (challenge.authRequired && secret === null) {
        throw new Error(`Peer ${address} requires a cluster secret (--cluster-secret-file)`);
      }
      const nonce = makeNonce();
      const proof = secret === null ? new Uint8Array(0) : prove(secret, "client", challenge.nonce);
      await writer.send({ type: TransferMessage.Hello, nodeId, nonce, proof, address: ownAddress });
      const welcome = await reader.next();
      if (welcome?.type !== TransferMessage.Welcome) throw new Error(`Peer ${address} refused our authentication`);
      if (secret !== null && !verifyProof(secret, "server", nonce, welcome.proof)) {
        throw new Error(`Peer ${address} does not know the cluster secret`);
      }
      return new PeerConnection(address, conn, reader, writer);
    } catch (error) {
      closeQuietly(conn);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Pulls one object into `target` (data then metadata, exactly their sizes).
   * @throws {PullFailedError} when the peer cannot serve it; {@linkcode PullRedirectedError} when
   * it sent us elsewhere (before any byte); {@linkcode PeerProtocolError} or a connection error
   * when the transfer broke
   */
  pull(
    objectId: Uint8Array,
    target: Uint8Array,
    sizes: { dataSize: number; metadataSize: number },
    options: PullOptions = {},
  ): Promise<void> {
    const onProgress = options.onProgress ?? (() => {});
    const allowRedirect = options.allowRedirect ?? false;
    if (this.#closed) return Promise.reject(new Error(`The connection to peer ${this.address} is closed`));
    const requestId = this.#nextRequestId++;
    return new Promise<void>((resolve, reject) => {
      const large = target.length > SMALL_PAYLOAD_BYTES_MAX;
      if (large) this.#largePending++;
      const forget = () => {
        if (this.#pending.delete(requestId) && large) this.#largePending--;
      };
      this.#pending.set(requestId, {
        target,
        ...sizes,
        received: 0,
        headerSeen: false,
        onProgress,
        writing: false,
        failure: null,
        resolve: () => {
          forget();
          resolve();
        },
        reject: (error) => {
          const pending = this.#pending.get(requestId);
          if (pending?.writing) {
            pending.failure ??= error;
            return;
          }
          forget();
          reject(error);
        },
      });
      this.#request({ type: TransferMessage.PullRequest, requestId, objectId, allowRedirect });
    });
  }

  /** Queues a request; the requests made in one turn of the event loop go out in one write. */
  #request(frame: TransferFrame): void {
    this.#requests.push(frame);
    if (this.#requests.length > 1) return;
    queueMicrotask(() => {
      const frames = this.#requests.splice(0);
      this.#writer.send(frames).catch((error) => this.#fail(error as Error));
    });
  }

  /** Closes the connection; pending pulls fail. Safe twice. */
  close(): void {
    this.#fail(new Error(`The connection to peer ${this.address} was closed`));
  }

  async #readLoop(): Promise<void> {
    try {
      for (let frame = await this.#nextFrame(); frame !== null; frame = await this.#nextFrame()) {
        await this.#receive(frame);
      }
      this.#fail(new Error(`Peer ${this.address} closed the connection`));
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  /** Reads ahead only while no large payload may come, so large payloads go straight to memory. */
  #nextFrame(): Promise<TransferFrame | null> {
    this.#reader.readAhead = this.#largePending === 0;
    return this.#reader.next();
  }

  async #receive(frame: TransferFrame): Promise<void> {
    if (frame.type === TransferMessage.ObjectHeader) {
      const pending = this.#pending.get(frame.requestId);
      if (pending === undefined) return;
      if (frame.dataSize !== pending.dataSize || frame.metadataSize !== pending.metadataSize) {
        return pending.reject(new PullFailedError(`Peer ${this.address} has a different size for the object`, false));
      }
      pending.headerSeen = true;
      if (pending.target.length === 0) pending.resolve();
    } else if (frame.type === TransferMessage.ChunkHeader) {
      await this.#receiveChunk(frame.requestId, frame.offset, frame.payloadBytes);
    } else if (frame.type === TransferMessage.Redirect) {
      const pending = this.#pending.get(frame.requestId);
      if (pending !== undefined && pending.headerSeen) {
        throw new PeerProtocolError(`a redirect after the object header (request ${frame.requestId})`);
      }
      pending?.reject(new PullRedirectedError(this.address, frame.address));
    } else if (frame.type === TransferMessage.PullFailed) {
      const notFound = frame.error === PullError.ObjectNotFound;
      this.#pending.get(frame.requestId)?.reject(
        new PullFailedError(`Peer ${this.address}: ${frame.message}`, notFound),
      );
    } else {
      throw new PeerProtocolError(`unexpected frame type ${frame.type} from a serving peer`);
    }
  }

  async #receiveChunk(requestId: number, offset: number, bytes: number): Promise<void> {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return await this.#reader.skip(bytes); // a pull given up meanwhile
    if (!pending.headerSeen || offset !== pending.received || offset + bytes > pending.target.length) {
      throw new PeerProtocolError(`chunk at ${offset} (+${bytes}) does not follow ${pending.received} bytes`);
    }
    pending.writing = true;
    try {
      await this.#reader.payloadInto(pending.target.subarray(offset, offset + bytes));
    } finally {
      pending.writing = false;
      if (pending.failure !== null) pending.reject(pending.failure);
    }
    pending.received += bytes;
    pending.onProgress(bytes);
    if (pending.received === pending.target.length) pending.resolve();
  }

  #fail(error: Error): void {
    if (!this.#closed) {
      this.#closed = true;
      closeQuietly(this.#conn);
    }
    for (const pending of [...this.#pending.values()]) pending.reject(error);
  }
}

/** Splits `HOST:PORT` (port 0, "any free port", only where `portZero` allows it). @throws {RangeError} otherwise */
export function parseAddress(
  address: string,
  options: { portZero?: boolean } = {},
): { hostname: string; port: number } {
  const match = /^([^:\s]+):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < (options.portZero ? 0 : 1) || port > 65535) {
    throw new RangeError(`Expected HOST:PORT, got "${address}"`);
  }
  return { hostname: match[1], port };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
