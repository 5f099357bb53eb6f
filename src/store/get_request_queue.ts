/**
 * Gets that wait: each is satisfied as its objects are sealed, and answered when all are found or
 * its timeout passes. Found objects are referenced for the client as soon as they are found.
 * Invariant: a request is answered exactly once and then leaves every waiting list.
 * @module
 */
import { idKey } from "../protocol/object_id.ts";
import type { ClientSession } from "./client_session.ts";
import type { LocalObject } from "./local_object.ts";
import type { ObjectLifecycle } from "./object_lifecycle.ts";

export class PendingGet {
  readonly session: ClientSession;
  /** The requested ids, deduplicated, in order. */
  readonly ids: Uint8Array[];
  readonly keys: string[];
  /** The requested ids as asked, duplicates included (Arrow's replies repeat them). */
  readonly requested: Uint8Array[];
  readonly found: (LocalObject | null)[];
  remaining: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** On the waiting lists and counted as pending. */
  waiting = false;
  /** For a get with timeout 0: restores it still waits for (it waits for nothing else). */
  restoresLeft = -1;
  answered = false;

  constructor(session: ClientSession, ids: Uint8Array[], keys: string[], requested: Uint8Array[]) {
    this.session = session;
    this.ids = ids;
    this.keys = keys;
    this.requested = requested;
    this.found = new Array(keys.length).fill(null);
    this.remaining = keys.length;
  }
}

export class GetRequestQueue {
  readonly #waiting = new Map<string, Set<PendingGet>>();
  readonly #lifecycle: ObjectLifecycle;
  readonly #answer: (get: PendingGet) => void;
  readonly #enter: (work: () => void) => void;
  #pending = 0;

  /**
   * @param answer sends the reply of a finished get
   * @param enter runs timer work inside the store's dispatch (so replies are flushed after it)
   */
  constructor(lifecycle: ObjectLifecycle, answer: (get: PendingGet) => void, enter: (work: () => void) => void) {
    this.#lifecycle = lifecycle;
    this.#answer = answer;
    this.#enter = enter;
  }

  /** Pending (waiting) gets across all clients. */
  get size(): number {
    return this.#pending;
  }

  /**
   * Starts a get: ids are deduplicated; timeoutMs -1 waits forever, 0 answers at once — except
   * for objects being restored from disk (`restoring`), which even a 0 timeout waits for (up to
   * `restoreWaitMs`): a spilled object is present, only slower to reach.
   */
  add(
    session: ClientSession,
    ids: Uint8Array[],
    timeoutMs: number,
    restoring: (key: string) => boolean = () => false,
    restoreWaitMs = 0,
  ): void {
    const keys: string[] = [];
    const unique: Uint8Array[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      const key = idKey(id);
      if (seen.has(key)) continue;
      seen.add(key);
      keys.push(key);
      unique.push(id.slice());
    }
    const requested = unique.length === ids.length ? unique : ids.map((id) => id.slice());
    const get = new PendingGet(session, unique, keys, requested);
    keys.forEach((key, index) => {
      const object = this.#lifecycle.get(key);
      if (object?.sealed) this.#satisfy(get, index, object);
    });
    if (get.remaining === 0) return this.#finish(get);
    if (timeoutMs === 0) {
      get.restoresLeft = keys.filter((key, index) => get.found[index] === null && restoring(key)).length;
      if (get.restoresLeft === 0) return this.#finish(get);
      return this.#wait(get, restoreWaitMs);
    }
    this.#wait(get, timeoutMs);
  }

  /** Fills every waiting get that wants this object. */
  objectSealed(object: LocalObject): void {
    const waiting = this.#waiting.get(object.key);
    if (waiting === undefined) return;
    this.#waiting.delete(object.key);
    for (const get of waiting) {
      get.keys.forEach((key, index) => {
        if (key === object.key && get.found[index] === null) this.#satisfy(get, index, object);
      });
      if (get.restoresLeft > 0) get.restoresLeft--;
      if (get.remaining === 0 || get.restoresLeft === 0) this.#finish(get);
    }
  }

  /** Drops a disconnected client's gets without answering them. */
  removeSession(session: ClientSession): void {
    const gets = new Set<PendingGet>();
    for (const waiting of this.#waiting.values()) {
      for (const get of waiting) if (get.session === session) gets.add(get);
    }
    for (const get of gets) this.#unregister(get);
  }

  #satisfy(get: PendingGet, index: number, object: LocalObject): void {
    get.found[index] = object;
    get.remaining--;
    this.#lifecycle.addReference(object, get.session.objects);
  }

  #wait(get: PendingGet, timeoutMs: number): void {
    get.waiting = true;
    this.#pending++;
    get.session.pendingGets++;
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
    this.#answer(get);
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
    get.session.pendingGets--;
  }
}
