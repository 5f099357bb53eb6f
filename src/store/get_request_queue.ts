/**
 * Gets that wait: each is satisfied as its objects are sealed, and answered when all are found,
 * its timeout passes, or a restore it waits for fails. Found objects are referenced for the
 * client as soon as they are found (and dropped again if the get fails).
 * Invariant: a request is answered exactly once and then leaves every waiting list.
 * @module
 */
import { idKey } from "../protocol/object_id.ts";
import type { LocalObject } from "./local_object.ts";
import type { ObjectLifecycle } from "./object_lifecycle.ts";
import type { StoreClient } from "./store_client.ts";
import type { Failure, GetResult } from "./store_output.ts";

class PendingGet implements GetResult {
  readonly client: StoreClient;
  /** Views into the request frame until the get waits; copies from then on ({@linkcode keepIds}). */
  ids: Uint8Array[];
  readonly keys: string[];
  requested: Uint8Array[];
  readonly found: (LocalObject | null)[];
  failure: Failure | null = null;
  remaining: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** On the waiting lists and counted as pending. */
  waiting = false;
  /** For a get with timeout 0: restores it still waits for (it waits for nothing else). */
  restoresLeft = -1;
  answered = false;
  /** Index of each key, built by indexOf for gets of many ids. */
  #positions: Map<string, number> | null = null;

  constructor(client: StoreClient, ids: Uint8Array[], keys: string[], requested: Uint8Array[]) {
    this.client = client;
    this.ids = ids;
    this.keys = keys;
    this.requested = requested;
    this.found = new Array(keys.length).fill(null);
    this.remaining = keys.length;
  }

  /**
   * Copies the ids out of the request frame, whose buffer the next read reuses: a get answered
   * at once never needs this (its reply is encoded before the next read), one that waits does.
   */
  keepIds(): void {
    const sameList = this.requested === this.ids;
    this.ids = this.ids.map((id) => id.slice());
    this.requested = sameList ? this.ids : this.requested.map((id) => id.slice());
  }

  /** Where `key` is in this get's (distinct) keys, or -1. A get of many ids indexes them once, so
   * each seal of one of its objects costs O(1), not a scan: 10,000 seals filling one get of
   * 10,000 ids scanned 10^8 keys (profiled: most of the store's time in a 10,000-object pull). */
  indexOf(key: string): number {
    if (this.keys.length <= INDEX_BY_SCAN_MAX) return this.keys.indexOf(key);
    this.#positions ??= new Map(this.keys.map((each, index) => [each, index]));
    return this.#positions.get(key) ?? -1;
  }
}

/** Gets of at most this many ids find an id by scanning their keys, without an index. */
const INDEX_BY_SCAN_MAX = 16;

/** How a get should wait: for how long, and which of its objects are being restored from disk. */
export interface GetWait {
  /** -1 waits forever, 0 answers at once (except for restores), more waits that long. */
  timeoutMs: number;
  /** Whether an object is being restored: even a 0 timeout waits for it (up to restoreWaitMs). */
  restoring?: (key: string) => boolean;
  restoreWaitMs?: number;
}

/** What a get is checked against: the client's waiting gets, and the ids waiting in the whole store. */
export interface PendingGetLoad {
  clientGets: number;
  clientIds: number;
  storeIds: number;
}

export class GetRequestQueue {
  readonly #waiting = new Map<string, Set<PendingGet>>();
  readonly #lifecycle: ObjectLifecycle;
  readonly #answer: (client: StoreClient, get: GetResult) => void;
  readonly #enter: (work: () => void) => void;
  #pending = 0;
  #pendingIds = 0;

  /**
   * @param answer told when a get that waited finishes (gets finished at once are returned by add)
   * @param enter runs timer work inside the store's dispatch (so replies are flushed after it)
   */
  constructor(
    lifecycle: ObjectLifecycle,
    answer: (client: StoreClient, get: GetResult) => void,
    enter: (work: () => void) => void,
  ) {
    this.#lifecycle = lifecycle;
    this.#answer = answer;
    this.#enter = enter;
  }

  /** Pending (waiting) gets across all clients. */
  get size(): number {
    return this.#pending;
  }

  /** Ids in all waiting gets, summed (the memory they hold grows with it). */
  get idCount(): number {
    return this.#pendingIds;
  }

  /**
   * Starts a get (ids deduplicated) and returns its result when it finished at once; otherwise
   * null, and the result goes to `answer` later. A spilled object is present, only slower to
   * reach: even a 0 timeout waits for its restore.
   */
  add(client: StoreClient, ids: Uint8Array[], wait: GetWait): GetResult | null {
    const get = newGet(client, ids);
    for (let index = 0; index < get.keys.length; index++) {
      const object = this.#lifecycle.get(get.keys[index]);
      if (object?.sealed) this.#satisfy(get, index, object);
    }
    if (get.remaining === 0) return this.#answeredNow(get);
    if (wait.timeoutMs === 0) {
      const restoring = wait.restoring ?? (() => false);
      get.restoresLeft = get.keys.filter((key, index) => get.found[index] === null && restoring(key)).length;
      if (get.restoresLeft === 0) return this.#answeredNow(get);
      this.#wait(get, wait.restoreWaitMs ?? 0);
      return null;
    }
    this.#wait(get, wait.timeoutMs);
    return null;
  }

  /** Fills every waiting get that wants this object. */
  objectSealed(object: LocalObject): void {
    const waiting = this.#waiting.get(object.key);
    if (waiting === undefined) return;
    this.#waiting.delete(object.key);
    for (const get of waiting) {
      const index = get.indexOf(object.key);
      if (index >= 0 && get.found[index] === null) this.#satisfy(get, index, object);
      if (get.restoresLeft > 0) get.restoresLeft--;
      if (get.remaining === 0 || get.restoresLeft === 0) this.#finish(get);
    }
  }

  /** Fails every waiting get that wants this object now (its restore failed): nothing waits for a deadline. */
  objectFailed(key: string, failure: Failure): number {
    const waiting = this.#waiting.get(key);
    if (waiting === undefined) return 0;
    const gets = [...waiting];
    for (const get of gets) {
      get.found.forEach((object, index) => {
        if (object !== null) this.#lifecycle.removeReference(object, get.client.objects);
        get.found[index] = null;
      });
      get.failure = failure;
      this.#finish(get);
    }
    return gets.length;
  }

  /** Drops a disconnected client's gets without answering them. */
  removeClient(client: StoreClient): void {
    const gets = new Set<PendingGet>();
    for (const waiting of this.#waiting.values()) {
      for (const get of waiting) if (get.client === client) gets.add(get);
    }
    for (const get of gets) this.#unregister(get);
    if (client.pendingGets !== 0) throw new Error("a disconnected client still counts pending gets");
    if (client.pendingGetIds !== 0) throw new Error("a disconnected client still counts pending get ids");
  }

  /** Stops every timer (store shutdown). */
  close(): void {
    for (const waiting of this.#waiting.values()) for (const get of waiting) clearTimeout(get.timer);
  }

  #satisfy(get: PendingGet, index: number, object: LocalObject): void {
    get.found[index] = object;
    get.remaining--;
    this.#lifecycle.addReference(object, get.client.objects);
  }

  #answeredNow(get: PendingGet): GetResult {
    get.answered = true;
    return get;
  }

  #wait(get: PendingGet, timeoutMs: number): void {
    get.keepIds();
    get.waiting = true;
    this.#pending++;
    this.#pendingIds += get.keys.length;
    get.client.pendingGets++;
    get.client.pendingGetIds += get.keys.length;
    get.keys.forEach((key, index) => {
      if (get.found[index] !== null) return;
      let waiting = this.#waiting.get(key);
      if (waiting === undefined) this.#waiting.set(key, waiting = new Set());
      waiting.add(get);
    });
    if (timeoutMs > 0) get.timer = setTimeout(() => this.#enter(() => this.#finish(get)), timeoutMs);
  }

  #finish(get: PendingGet): void {
    if (get.answered) return;
    this.#unregister(get);
    get.answered = true;
    this.#answer(get.client, get);
  }

  /** Takes a waiting get off every list and out of the counts (no-op for one that never waited). */
  #unregister(get: PendingGet): void {
    if (!get.waiting) return;
    get.waiting = false;
    if (get.timer !== undefined) clearTimeout(get.timer);
    get.timer = undefined;
    for (const key of get.keys) {
      const waiting = this.#waiting.get(key);
      waiting?.delete(get);
      if (waiting?.size === 0) this.#waiting.delete(key);
    }
    this.#pending--;
    this.#pendingIds -= get.keys.length;
    get.client.pendingGets--;
    get.client.pendingGetIds -= get.keys.length;
  }
}

/** Ids at or below this count are deduplicated by comparing keys, without a Set (most gets name one id). */
const DEDUPLICATE_BY_SCAN_MAX = 8;

/** A get with its ids deduplicated (keeping the first of each); still views into the frame (see keepIds). */
function newGet(client: StoreClient, ids: Uint8Array[]): PendingGet {
  const keys: string[] = [];
  const unique: Uint8Array[] = [];
  const seen = ids.length > DEDUPLICATE_BY_SCAN_MAX ? new Set<string>() : null;
  for (const id of ids) {
    const key = idKey(id);
    if (seen === null ? keys.includes(key) : seen.has(key)) continue;
    seen?.add(key);
    keys.push(key);
    unique.push(id);
  }
  const requested = unique.length === ids.length ? unique : ids;
  return new PendingGet(client, unique, keys, requested);
}
