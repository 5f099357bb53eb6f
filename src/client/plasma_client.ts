/**
 * The TypeScript client of the store. Objects are read and written in place: views are zero-copy
 * over the store's shared memory, and a view stops working (reads as empty) once its object is
 * released, so it cannot outlive the object.
 * @module
 */
import * as decode from "../protocol/decode.ts";
import * as encode from "../protocol/encode.ts";
import { ErrorCode, MessageType, ObjectSource } from "../protocol/messages.ts";
import type { ObjectInfo, ObjectSpec, StoreStats } from "../protocol/messages.ts";
import { ObjectId } from "../protocol/object_id.ts";
import { requestBytesMaxFor } from "../protocol/limits.ts";
import { errorFromCode, ObjectNotFoundError } from "./errors.ts";
import { StoreConnection } from "./_store_connection.ts";

/** Options of {@linkcode PlasmaClient.connect}. */
export interface ConnectOptions {
  /** Connection attempts after the first while the store is not listening yet (default 50). */
  retries?: number;
  /** Delay between attempts (default 100 ms). */
  retryDelayMs?: number;
}

/** An object got from the store: zero-copy views, valid until {@linkcode PlasmaClient.release}. */
export interface PlasmaObject {
  id: ObjectId;
  data: Uint8Array;
  metadata: Uint8Array;
}

/** What delete did with each id. */
export type DeleteOutcome = "deleted" | "deferred" | "not_found";

/** One entry of {@linkcode PlasmaClient.list}. */
export interface ObjectListing extends Omit<ObjectInfo, "objectId" | "state" | "source"> {
  id: ObjectId;
  state: "created" | "sealed";
  source: string;
}

/** An object to write with {@linkcode PlasmaClient.putBatch}. */
export interface PutItem {
  data: Uint8Array;
  metadata?: Uint8Array;
  id?: ObjectId;
}

interface HeldObject {
  count: number;
  buffer: ArrayBuffer | null;
  object: PlasmaObject;
  /** The chunk to unmap when the object is let go: a fallback object's own file, else null. */
  ownChunk: number | null;
}

/** A create not yet sealed: its writable view, and its own chunk if it is a fallback object. */
interface CreatingObject {
  buffer: ArrayBuffer | null;
  ownChunk: number | null;
}

const EMPTY = new Uint8Array(0);

/** A connection to a store. Calls are serialized: one request is in flight at a time. */
export class PlasmaClient {
  /** The store's capacity in bytes. */
  readonly capacityBytes: number;
  readonly #connection: StoreConnection;
  readonly #held = new Map<string, HeldObject>();
  readonly #creating = new Map<string, CreatingObject>();

  /** Largest request the store accepts: as it announced, else as its capacity implies. */
  readonly #requestBytesMax: number;

  private constructor(connection: StoreConnection, capacityBytes: number, requestBytesMax: number) {
    this.#requestBytesMax = requestBytesMax > 0 ? requestBytesMax : requestBytesMaxFor(capacityBytes);
    this.#connection = connection;
    this.capacityBytes = capacityBytes;
  }

  /**
   * Connects to the store listening on `socketPath`.
   * @throws {ConnectionClosedError} when no store answers after the retries
   * @example
   * ```ts
   * await using client = await PlasmaClient.connect("/tmp/plasma.sock");
   * const id = await client.put(new TextEncoder().encode("hello"));
   * ```
   */
  static async connect(socketPath: string, options: ConnectOptions = {}): Promise<PlasmaClient> {
    const connection = await StoreConnection.open(socketPath, options.retries ?? 50, options.retryDelayMs ?? 100);
    try {
      const reply = decode.decodeConnectReply(
        connection.call(MessageType.ConnectRequest, encode.encodeEmpty(), MessageType.ConnectReply),
      );
      return new PlasmaClient(connection, reply.memoryCapacity, reply.requestBytesMax);
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  /**
   * Creates an object of `sizeBytes` and returns its data as a writable view; seal it when written.
   * Waits (without blocking the event loop) while the store makes room. `receivedFromRemote` marks
   * a copy pulled from another node (a secondary copy: the store may evict it).
   * @throws {ObjectExistsError} when the id is taken; {@linkcode OutOfMemoryError} when no room comes
   */
  create(
    id: ObjectId,
    sizeBytes: number,
    options: { metadata?: Uint8Array; receivedFromRemote?: boolean } = {},
  ): Promise<Uint8Array> {
    checkSize(sizeBytes);
    const metadata = options.metadata ?? EMPTY;
    return this.#connection.exclusive(async () => {
      const request = {
        objectId: id.rawBytes,
        dataSize: sizeBytes,
        metadataSize: metadata.length,
        source: options.receivedFromRemote ? ObjectSource.ReceivedFromRemoteRaylet : ObjectSource.CreatedByWorker,
        deviceNum: 0,
        tryImmediately: false,
      };
      let reply = decode.decodeCreateReply(
        this.#connection.call(MessageType.CreateRequest, encode.encodeCreateRequest(request), MessageType.CreateReply),
      );
      while (reply.retryWithRequestId > 0) {
        const retry = encode.encodeCreateRetryRequest({ objectId: id.rawBytes, requestId: reply.retryWithRequestId });
        reply = decode.decodeCreateReply(
          await this.#connection.callWaiting(MessageType.CreateRetryRequest, retry, MessageType.CreateReply),
        );
      }
      if (reply.error !== ErrorCode.OK) {
        throw errorFromCode(reply.error, `Cannot create object ${id}: ${describe(reply.error, reply.message)}`);
      }
      this.#connection.receiveChunks(reply.chunk ? [reply.chunk] : []);
      const { buffer, data, metadata: metadataView } = this.#views(reply.spec!);
      metadataView.set(metadata);
      this.#creating.set(id.key, { buffer, ownChunk: ownChunkOf(reply.spec!) });
      return data;
    });
  }

  /**
   * Seals an object this client created: it becomes immutable and visible to others, and the
   * view `create` returned stops working.
   * @throws {ObjectNotFoundError}, {@linkcode ObjectSealedError}, {@linkcode NotPermittedError}
   */
  async seal(id: ObjectId): Promise<void> {
    const [error] = await this.#sealMany([id]);
    if (error !== ErrorCode.OK) throw errorFromCode(error, `Cannot seal object ${id}: ${describe(error, "")}`);
  }

  /**
   * Gets objects: each is a zero-copy view, or null when it was not sealed in time.
   * `timeoutMs`: -1 (default) waits forever, 0 answers at once; a timeout past
   * GET_TIMEOUT_MS_MAX (about 24.8 days, the longest timer) also waits forever.
   * Every object returned must be released once.
   * @throws {RangeError} when `timeoutMs` is not a safe integer of -1 or more
   */
  get(ids: ObjectId[], options: { timeoutMs?: number } = {}): Promise<(PlasmaObject | null)[]> {
    const timeoutMs = options.timeoutMs ?? -1;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < -1) {
      throw new RangeError(`timeoutMs must be -1 or more, got ${timeoutMs}`);
    }
    return this.#connection.exclusive(async () => {
      const payload = encode.encodeGetRequest({ objectIds: ids.map((id) => id.rawBytes), timeoutMs });
      const reply = decode.decodeGetReply(
        timeoutMs === 0
          ? this.#connection.call(MessageType.GetRequest, payload, MessageType.GetReply)
          : await this.#connection.callWaiting(MessageType.GetRequest, payload, MessageType.GetReply),
      );
      this.#connection.receiveChunks(reply.chunks);
      const found = new Map<string, PlasmaObject>();
      reply.objectIds.forEach((bytes, index) => {
        const spec = reply.specs[index];
        if (spec.dataSize < 0) return;
        const id = ObjectId.fromBytes(bytes);
        found.set(id.key, this.#hold(id, spec));
      });
      return ids.map((id) => found.get(id.key) ?? null);
    });
  }

  /**
   * Releases one reference got by `get`; its views stop working when the last one goes.
   * Fire-and-forget: the store does not answer.
   * @throws {ObjectNotFoundError} when this client holds no reference to the object
   */
  release(id: ObjectId): Promise<void> {
    return this.#connection.exclusive(() => {
      const held = this.#held.get(id.key);
      if (held === undefined) {
        throw new ObjectNotFoundError(`Cannot release object ${id}: this client does not hold it`);
      }
      if (--held.count > 0) return;
      this.#held.delete(id.key);
      this.#letGo(held);
      this.#connection.send(
        MessageType.ReleaseRequest,
        encode.encodeReleaseRequest({ objectId: id.rawBytes, mayUnmap: false }),
      );
    });
  }

  /**
   * Deletes objects: unreferenced sealed ones go now; referenced or unsealed ones go as soon as
   * they are released (deferred). With `everywhere` (a store started with `--cluster`), every
   * other node deletes its copy too, the same way; the outcomes are this store's.
   * @throws {InvalidRequestError} for `everywhere` on a store that is not in a cluster
   */
  delete(ids: ObjectId[], options: { everywhere?: boolean } = {}): Promise<DeleteOutcome[]> {
    return this.#connection.exclusive(() => {
      const reply = decode.decodeIdsReply(this.#connection.call(
        MessageType.DeleteRequest,
        encode.encodeDeleteRequest({
          objectIds: ids.map((id) => id.rawBytes),
          everywhere: options.everywhere ?? false,
        }),
        MessageType.DeleteReply,
      ));
      return reply.errors.map((error) => {
        if (error === ErrorCode.OK) return "deleted";
        if (error === ErrorCode.ObjectNonexistent) return "not_found";
        return "deferred";
      });
    });
  }

  /**
   * Starts pulling objects that other nodes hold into this store, without waiting (a store
   * started with `--cluster`); a later `get` finds them here, or waits for the pull to finish.
   * @throws {InvalidRequestError} on a store that is not in a cluster
   * @example
   * ```ts
   * await client.fetch(ids); // returns at once
   * const objects = await client.get(ids, { timeoutMs: 5_000 });
   * ```
   */
  fetch(ids: ObjectId[]): Promise<void> {
    return this.#connection.exclusive(() => {
      this.#connection.call(
        MessageType.FetchRequest,
        encode.encodeIdsRequest(ids.map((id) => id.rawBytes)),
        MessageType.FetchReply,
      );
    });
  }

  /** Whether a sealed copy of the object is in the store. */
  contains(id: ObjectId): Promise<boolean> {
    return this.#connection.exclusive(() =>
      decode.decodeContainsReply(
        this.#connection.call(
          MessageType.ContainsRequest,
          encode.encodeIdRequest(id.rawBytes),
          MessageType.ContainsReply,
        ),
      ).hasObject
    );
  }

  /**
   * Discards an unsealed object this client created.
   * @throws {NotPermittedError} for another client's object; {@linkcode ObjectSealedError} once sealed
   */
  abort(id: ObjectId): Promise<void> {
    return this.#connection.exclusive(() => {
      const reply = decode.decodeIdReply(
        this.#connection.call(MessageType.AbortRequest, encode.encodeIdRequest(id.rawBytes), MessageType.AbortReply),
      );
      if (reply.error !== ErrorCode.OK) {
        throw errorFromCode(reply.error, `Cannot abort object ${id}: ${describe(reply.error, "")}`);
      }
      this.#finishCreating(id);
    });
  }

  /** Creates, fills and seals one object. @returns its id */
  async put(bytes: Uint8Array, options: { id?: ObjectId; metadata?: Uint8Array } = {}): Promise<ObjectId> {
    const id = options.id ?? ObjectId.random();
    const data = await this.create(id, bytes.length, { metadata: options.metadata });
    data.set(bytes);
    await this.seal(id);
    return id;
  }

  /**
   * Writes many small objects in one round trip (the store copies them in and seals them).
   * `receivedFromRemote` marks copies pulled from another node (secondary copies, as in create).
   * @returns their ids, in order
   * @throws the first object's error, after the others were still written
   * @throws {RangeError} before sending, when the batch is larger than one request may be
   */
  putBatch(items: PutItem[], options: { receivedFromRemote?: boolean } = {}): Promise<ObjectId[]> {
    const ids = items.map((item) => item.id ?? ObjectId.random());
    return this.#connection.exclusive(() => {
      const payload = encode.encodeCreateAndSealRequest({
        objects: items.map((item, index) => ({
          objectId: ids[index].rawBytes,
          data: item.data,
          metadata: item.metadata ?? EMPTY,
        })),
        receivedFromRemote: options.receivedFromRemote ?? false,
      });
      this.#checkRequestSize(payload, `putBatch of ${items.length} objects`);
      const reply = decode.decodeIdsReply(
        this.#connection.call(MessageType.CreateAndSealRequest, payload, MessageType.CreateAndSealReply),
      );
      const failed = reply.errors.findIndex((error) => error !== ErrorCode.OK);
      if (failed >= 0) {
        throw errorFromCode(
          reply.errors[failed],
          `Cannot put object ${ids[failed]}: ${describe(reply.errors[failed], "")}`,
        );
      }
      return ids;
    });
  }

  /** Every object in the store with its sizes, references and state. */
  list(): Promise<ObjectListing[]> {
    return this.#connection.exclusive(() =>
      decode.decodeListReply(
        this.#connection.call(MessageType.ListRequest, encode.encodeEmpty(), MessageType.ListReply),
      )
        .map(({ objectId, state, source, ...rest }) => ({
          ...rest,
          id: ObjectId.fromBytes(objectId),
          state: state === 1 ? "sealed" : "created",
          source: ObjectSource[source] ?? String(source),
        }))
    );
  }

  /** The store's counters (Ray's names in camelCase) plus capacity and allocated bytes. */
  stats(): Promise<StoreStats> {
    return this.#connection.exclusive(() =>
      decode.decodeStatsReply(
        this.#connection.call(MessageType.StatsRequest, encode.encodeEmpty(), MessageType.StatsReply),
      )
    );
  }

  /** The store's human-readable summary. */
  debugString(): Promise<string> {
    return this.#connection.exclusive(() =>
      decode.decodeDebugStringReply(
        this.#connection.call(MessageType.GetDebugStringRequest, encode.encodeEmpty(), MessageType.GetDebugStringReply),
      )
    );
  }

  /** Closes the connection: the store drops this client's references and unsealed objects. Safe twice. */
  close(): void {
    if (this.#connection.closed) return;
    for (const held of this.#held.values()) held.buffer?.transfer();
    for (const creating of this.#creating.values()) creating.buffer?.transfer();
    this.#held.clear();
    this.#creating.clear();
    this.#connection.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** A request past the store's limit would make the store close the connection: refuse it here. */
  #checkRequestSize(payload: Uint8Array, what: string): void {
    const limit = this.#requestBytesMax;
    if (payload.length <= limit) return;
    throw new RangeError(
      `${what} makes a request of ${payload.length} bytes; this store accepts at most ${limit} bytes ` +
        `per request: split it`,
    );
  }

  #sealMany(ids: ObjectId[]): Promise<ErrorCode[]> {
    return this.#connection.exclusive(() => {
      const reply = decode.decodeIdsReply(this.#connection.call(
        MessageType.SealRequest,
        encode.encodeSealRequest({ objectIds: ids.map((id) => id.rawBytes), release: true }),
        MessageType.SealReply,
      ));
      ids.forEach((id, index) => {
        if (reply.errors[index] === ErrorCode.OK) this.#finishCreating(id);
      });
      return reply.errors;
    });
  }

  /** Counts one more reference to an object got from the store (views made once per object). */
  #hold(id: ObjectId, spec: ObjectSpec): PlasmaObject {
    const held = this.#held.get(id.key);
    if (held) {
      held.count++;
      return held.object;
    }
    const { buffer, data, metadata } = this.#views(spec);
    const object = { id, data, metadata };
    this.#held.set(id.key, { count: 1, buffer, object, ownChunk: ownChunkOf(spec) });
    return object;
  }

  /** Detaches an object's views and unmaps its own chunk, if it has one. */
  #letGo(held: { buffer: ArrayBuffer | null; ownChunk: number | null }): void {
    held.buffer?.transfer();
    if (held.ownChunk !== null) this.#connection.dropChunk(held.ownChunk);
  }

  #finishCreating(id: ObjectId): void {
    const creating = this.#creating.get(id.key);
    if (creating === undefined) return;
    this.#creating.delete(id.key);
    // A get of this object by this client may still need its own chunk mapped.
    this.#letGo(this.#held.has(id.key) ? { buffer: creating.buffer, ownChunk: null } : creating);
  }

  /** One ArrayBuffer over an object's data and metadata, so both can be detached together. */
  #views(spec: ObjectSpec): { buffer: ArrayBuffer | null; data: Uint8Array; metadata: Uint8Array } {
    const chunk = this.#connection.chunk(spec.uniqueFdId);
    const total = spec.dataSize + spec.metadataSize;
    if (
      spec.dataOffset < 0 || spec.dataOffset + total > chunk.sizeBytes ||
      spec.metadataOffset !== spec.dataOffset + spec.dataSize
    ) {
      throw new ObjectNotFoundError(
        `The store described an object outside its chunk (offset ${spec.dataOffset}, ${total} bytes)`,
      );
    }
    if (total === 0) return { buffer: null, data: new Uint8Array(0), metadata: new Uint8Array(0) };
    const pointer = Deno.UnsafePointer.create(chunk.address + BigInt(spec.dataOffset));
    const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer!, total);
    return {
      buffer,
      data: new Uint8Array(buffer, 0, spec.dataSize),
      metadata: new Uint8Array(buffer, spec.dataSize, spec.metadataSize),
    };
  }
}

/** A fallback object lives alone in its chunk: unmap it once the object is let go. */
function ownChunkOf(spec: ObjectSpec): number | null {
  return spec.fallbackAllocated ? spec.uniqueFdId : null;
}

function checkSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    throw new RangeError(`Object size must be a non-negative integer, got ${sizeBytes}`);
  }
}

function describe(error: ErrorCode, message: string): string {
  return message || (ErrorCode[error] ?? `error ${error}`);
}
