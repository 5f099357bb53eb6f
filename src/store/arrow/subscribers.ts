/**
 * Arrow's notifications: a subscribed client passes one end of a socket pair, and the store
 * writes a length-prefixed Notification to it for every object sealed or deleted (and, at
 * subscription, for every sealed object already there). Writes never block the store: what the
 * socket does not take waits and is retried on a timer; a subscriber whose socket fails, whose
 * backlog passes PENDING_BYTES_MAX, or whose backlog would pass its share of the store's client
 * memory budget is dropped (its client sees the socket close).
 * @module
 */
import { FrameConnection } from "../../../ffi/frame_connection.ts";
import { closeFd } from "../../../ffi/shared_memory.ts";
import { Status } from "../../../ffi/status.ts";
import { encodeNotification } from "../../protocol/arrow/encode.ts";
import { ARROW_DIGEST_BYTES, type ArrowObjectInfo } from "../../protocol/arrow/messages.ts";
import { keyBytes } from "../../protocol/object_id.ts";
import { clientErrorLog } from "../../log/rate_limited_log.ts";
import { budgetRefusalMessage } from "../client_memory_budget.ts";
import type { ClientSession } from "../client_session.ts";
import type { LocalObject } from "../local_object.ts";
import type { ObjectWatcher, PlasmaStore } from "../plasma_store.ts";

/** Queued notifications are retried after this long while a subscriber's socket is full... */
const FLUSH_RETRY_MS = 2;
/** ...doubling up to this, so a client that stopped reading costs few wake-ups. */
const FLUSH_RETRY_MS_MAX = 128;
/** Largest single notification (a CreateAndSealBatch of many objects). */
const NOTIFICATION_BYTES_MAX = 64 * 1024 * 1024;
/** Notifications waiting for a client that does not read; past this it is unsubscribed. */
const PENDING_BYTES_MAX = 256 * 1024 * 1024;
/** Sealed objects without a client digest (created in our dialect) report this one. */
const NO_DIGEST = new Uint8Array(ARROW_DIGEST_BYTES);

/** What a notification says about a sealed object. */
export function sealedInfo(object: LocalObject): ArrowObjectInfo {
  return {
    objectId: object.id,
    dataSize: object.dataSize,
    metadataSize: object.metadataSize,
    refCount: object.refCount,
    createTimeSeconds: unixSeconds(object.createTimeMs),
    constructDurationSeconds: object.sealed ? unixSeconds(Date.now()) - unixSeconds(object.createTimeMs) : -1,
    digest: object.sealed ? (object.digestKey === null ? NO_DIGEST : keyBytes(object.digestKey)) : new Uint8Array(0),
    isDeletion: false,
  };
}

function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function deletedInfo(object: LocalObject): ArrowObjectInfo {
  return {
    objectId: object.id,
    dataSize: 0,
    metadataSize: 0,
    refCount: 0,
    createTimeSeconds: 0,
    constructDurationSeconds: 0,
    digest: new Uint8Array(0),
    isDeletion: true,
  };
}

/**
 * One subscriber's socket. Each notification goes out in its own send, and the next only after
 * it has gone whole, as Arrow's store does: Arrow's clients read the 8-byte length and then
 * expect the whole message from one recv.
 */
class Subscriber {
  readonly connection: FrameConnection;
  readonly #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #retryMs = FLUSH_RETRY_MS;
  readonly #onFailure: () => void;
  readonly #store: PlasmaStore;

  constructor(store: PlasmaStore, fd: number, onFailure: () => void) {
    this.connection = FrameConnection.adopt(fd, { payloadBytesMax: 8, sendPayloadBytesMax: NOTIFICATION_BYTES_MAX });
    this.#store = store;
    this.#onFailure = onFailure;
  }

  push(infos: ArrowObjectInfo[]): void {
    // A failed write drops the subscriber, but a caller may still hold it (the loop that sends
    // the objects already sealed, or a copy of the subscriber list): later pushes are no-ops.
    if (this.connection.closed) return;
    const message = encodeNotification(infos);
    this.#pendingBytes += message.length;
    if (this.#pendingBytes > PENDING_BYTES_MAX) return this.#onFailure();
    const refusal = this.#store.clientMemory.request(this, this.#pendingBytes);
    if (refusal !== null) {
      this.#store.clientMemoryRefused();
      const what = `unsubscribed an Arrow client whose unread notifications`;
      clientErrorLog.line("client-memory", `plasma store: ${budgetRefusalMessage(what, refusal)}`);
      return this.#onFailure();
    }
    this.#pending.push(message);
    if (this.#retry === undefined) this.#pump();
  }

  close(): void {
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#store.clientMemory.set(this, 0);
    this.connection.close();
  }

  /** Sends pending notifications one by one until the socket is full, then retries on a timer. */
  #pump(): void {
    let progressed = false;
    while (true) {
      const status = this.connection.flush(0);
      if (status === Status.queued) break;
      if (status !== Status.ok) return this.#onFailure();
      const next = this.#pending.shift();
      if (next === undefined) {
        this.#retryMs = FLUSH_RETRY_MS;
        return;
      }
      this.#pendingBytes -= next.length;
      this.#store.clientMemory.set(this, this.#pendingBytes);
      if (this.connection.queueBytes(next) !== Status.ok) return this.#onFailure();
      progressed = true;
    }
    // Back off only while the client reads nothing, so a stalled client costs few wake-ups.
    this.#retryMs = progressed ? FLUSH_RETRY_MS : Math.min(this.#retryMs * 2, FLUSH_RETRY_MS_MAX);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#pump();
    }, this.#retryMs);
  }
}

/** The subscribers of one store. */
export class ArrowSubscribers implements ObjectWatcher {
  readonly #bySession = new Map<ClientSession, Subscriber>();

  /** Subscribes `session` with its notification socket `fd` and tells it what is already sealed. */
  add(store: PlasmaStore, session: ClientSession, fd: number): void {
    if (this.#bySession.has(session)) {
      // Arrow's clients subscribe once; a second socket would never be written to.
      closeFd(fd);
      return;
    }
    const subscriber = new Subscriber(store, fd, () => this.remove(session));
    this.#bySession.set(session, subscriber);
    session.onClose = () => this.remove(session);
    for (const object of store.objects()) {
      if (object.sealed) subscriber.push([sealedInfo(object)]);
    }
  }

  remove(session: ClientSession): void {
    const subscriber = this.#bySession.get(session);
    if (subscriber === undefined) return;
    this.#bySession.delete(session);
    subscriber.close();
  }

  sealed(object: LocalObject): void {
    if (this.#bySession.size === 0) return;
    const info = [sealedInfo(object)];
    for (const subscriber of [...this.#bySession.values()]) subscriber.push(info);
  }

  deleted(object: LocalObject): void {
    if (this.#bySession.size === 0) return;
    const info = [deletedInfo(object)];
    for (const subscriber of [...this.#bySession.values()]) subscriber.push(info);
  }
}

const registries = new WeakMap<PlasmaStore, ArrowSubscribers>();

/** The store's subscribers, created (and made a watcher of the store) on first use. */
export function subscribersOf(store: PlasmaStore): ArrowSubscribers {
  let subscribers = registries.get(store);
  if (subscribers === undefined) {
    subscribers = new ArrowSubscribers();
    registries.set(store, subscribers);
    store.watch(subscribers);
  }
  return subscribers;
}
