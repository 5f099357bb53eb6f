/**
 * Per-client quotas as Arrow 11's plasma-store-server enforces them (its QuotaAwarePolicy), as a
 * state machine over the store's objects: it decides, the store evicts and re-lists.
 * Invariants: an object is owned by at most one client, is then in that client's list and never
 * in the store's shared LRU; the quotas together leave the shared LRU at least 30% of the capacity.
 * @module
 */
import { LruEvictionPolicy } from "./eviction_policy.ts";
import type { LocalObject } from "./local_object.ts";

/** Arrow's kGlobalLruReserveFraction: quotas may take at most the rest of the capacity. */
export const GLOBAL_LRU_RESERVE_FRACTION = 0.3;

/** One client's quota: its objects, oldest first, reuse the store's LRU list. */
interface ClientQuota {
  readonly name: string;
  readonly quotaBytes: number;
  readonly objects: LruEvictionPolicy;
  evictions: number;
  bytesEvicted: number;
}

/** What a create by a client needs first: nothing, evictions within its quota, or it cannot fit. */
export type QuotaRoom = { fits: true; victims: LocalObject[] } | { fits: false; quotaBytes: number };

/** The shared LRU's figures, for the debug string. */
export interface SharedLruFigures {
  objects: number;
  dataBytes: number;
  evictions: number;
  bytesEvicted: number;
}

/** The store's memory figures, for the debug string. */
export interface MemoryFigures {
  allocatedBytes: number;
  pinnedBytes: number;
}

const NO_VICTIMS: QuotaRoom = Object.freeze({ fits: true, victims: [] });

export class QuotaPolicy {
  readonly #capacityBytes: number;
  readonly #clients = new Map<number, ClientQuota>();
  /** Owner of each owned object, by the object's record slot. */
  readonly #owners = new Map<number, ClientQuota>();
  #quotasBytes = 0;
  /** Owned objects this policy chose to evict since the start (the store's eviction count includes them). */
  #victimsChosen = 0;
  #victimBytesChosen = 0;

  constructor(capacityBytes: number) {
    this.#capacityBytes = capacityBytes;
  }

  /**
   * Arrow's SetClientQuota: once per client, and only while the shared LRU keeps at least
   * GLOBAL_LRU_RESERVE_FRACTION of the capacity. Returns whether the quota was set.
   */
  setQuota(clientId: number, name: string, quotaBytes: number): boolean {
    if (this.#clients.has(clientId) || !Number.isSafeInteger(quotaBytes) || quotaBytes < 0) return false;
    const sharedBytes = this.#capacityBytes - this.#quotasBytes - quotaBytes;
    if (sharedBytes < this.#capacityBytes * GLOBAL_LRU_RESERVE_FRACTION) return false;
    this.#quotasBytes += quotaBytes;
    this.#clients.set(clientId, { name, quotaBytes, objects: new LruEvictionPolicy(), evictions: 0, bytesEvicted: 0 });
    return true;
  }

  hasQuota(clientId: number): boolean {
    return this.#clients.has(clientId);
  }

  owns(object: LocalObject): boolean {
    return this.#owners.has(object.slot);
  }

  /**
   * Arrow's EnforcePerClientQuota, before a create (that may evict) of `sizeBytes` by the client:
   * too large for the quota, or the client's least recently created objects to make room. Those
   * still referenced are given up to the shared LRU (they join it when released); the others are
   * returned, still owned, for the store to evict.
   */
  makeRoom(clientId: number, sizeBytes: number): QuotaRoom {
    const client = this.#clients.get(clientId);
    if (client === undefined) return NO_VICTIMS;
    if (sizeBytes > client.quotaBytes) return { fits: false, quotaBytes: client.quotaBytes };
    const freeBytes = client.quotaBytes - client.objects.dataBytes;
    if (freeBytes >= sizeBytes) return NO_VICTIMS;
    const victims: LocalObject[] = [];
    for (const object of client.objects.chooseBySize(sizeBytes - freeBytes)) {
      client.evictions++;
      client.bytesEvicted += object.sizeBytes;
      if (object.refCount > 0 || !object.sealed) {
        this.#disown(object, client);
        continue;
      }
      victims.push(object);
      this.#victimsChosen++;
      this.#victimBytesChosen += object.sizeBytes;
    }
    assert(client.objects.dataBytes - sumSizes(victims) <= client.quotaBytes - sizeBytes, "quota room not made");
    return { fits: true, victims };
  }

  /** A client created an object: a client with a quota owns it (Arrow: create, not restore). */
  objectCreated(clientId: number, object: LocalObject): void {
    const client = this.#clients.get(clientId);
    if (client === undefined) return;
    assert(!this.#owners.has(object.slot), "object created twice");
    assert(!object.linked, "a new object is already in a list");
    client.objects.evictableChanged(object, true);
    this.#owners.set(object.slot, client);
  }

  /** The object left the store (deleted, evicted, aborted or spilled). */
  objectRemoved(object: LocalObject): void {
    const client = this.#owners.get(object.slot);
    if (client !== undefined) this.#disown(object, client);
  }

  /** Gives up an object (the store's own rules take over); used when the store cannot evict it. */
  disown(object: LocalObject): void {
    this.objectRemoved(object);
  }

  /** Arrow's RefreshLRU for an owned object: it becomes its client's most recent. */
  refresh(object: LocalObject): void {
    this.#owners.get(object.slot)?.objects.refresh(object);
  }

  /**
   * The client is gone: its quota returns to the shared LRU, and so do its objects. Returns
   * them; the store lists those that are evictable now (the others join when released).
   */
  clientDisconnected(clientId: number): LocalObject[] {
    const client = this.#clients.get(clientId);
    if (client === undefined) return [];
    const objects = [...client.objects];
    for (const object of objects) this.#disown(object, client);
    assert(client.objects.size === 0 && client.objects.dataBytes === 0, "a disconnected client kept objects");
    this.#clients.delete(clientId);
    this.#quotasBytes -= client.quotaBytes;
    assert(this.#quotasBytes >= 0, "quotas went negative");
    return objects;
  }

  /** Objects chosen by quota enforcement and their bytes (the store's eviction counts include them). */
  get victimsChosen(): { objects: number; bytes: number } {
    return { objects: this.#victimsChosen, bytes: this.#victimBytesChosen };
  }

  /** Arrow's QuotaAwarePolicy::DebugString, line for line. */
  debugString(shared: SharedLruFigures, memory: MemoryFigures): string {
    let pinned = 0;
    for (const client of this.#clients.values()) {
      for (const object of client.objects) if (object.refCount > 0 || !object.sealed) pinned++;
    }
    const lines = [
      `num clients with quota: ${this.#clients.size}`,
      `quota map size: ${this.#owners.size}`,
      `pinned quota map size: ${pinned}`,
      `allocated bytes: ${memory.allocatedBytes}`,
      `allocation limit: ${this.#capacityBytes}`,
      `pinned bytes: ${memory.pinnedBytes}`,
      ...lruLines("global lru", this.#capacityBytes - this.#quotasBytes, this.#capacityBytes, shared),
    ];
    for (const client of this.#clients.values()) {
      lines.push(...lruLines(client.name, client.quotaBytes, client.quotaBytes, {
        objects: client.objects.size,
        dataBytes: client.objects.dataBytes,
        evictions: client.evictions,
        bytesEvicted: client.bytesEvicted,
      }));
    }
    return lines.join("\n");
  }

  #disown(object: LocalObject, client: ClientQuota): void {
    client.objects.evictableChanged(object, false);
    this.#owners.delete(object.slot);
    assert(!object.linked, "a disowned object is still linked");
  }
}

/** Arrow's LRUCache::DebugString: "used" is the share of the original capacity not remaining. */
function lruLines(name: string, capacityBytes: number, originalBytes: number, figures: SharedLruFigures): string[] {
  const usedPercent = 100 * (1 - (capacityBytes - figures.dataBytes) / originalBytes);
  return [
    `(${name}) capacity: ${capacityBytes}`,
    `(${name}) used: ${formatLikeCxxStream(usedPercent)}%`,
    `(${name}) num objects: ${figures.objects}`,
    `(${name}) num evictions: ${figures.evictions}`,
    `(${name}) bytes evicted: ${figures.bytesEvicted}`,
  ];
}

/**
 * A double as a default C++ ostream prints it (%g with 6 significant digits): Arrow's clients
 * and tests match these strings exactly ("41.9431", "0", "1e-05").
 */
export function formatLikeCxxStream(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value === 0 ? 0 : value);
  const exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(6)))));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, power] = value.toExponential(5).split("e");
    const sign = power.startsWith("-") ? "-" : "+";
    const digits = power.replace(/^[+-]/, "").padStart(2, "0");
    return `${stripZeros(mantissa)}e${sign}${digits}`;
  }
  return stripZeros(value.toFixed(Math.max(0, 5 - exponent)));
}

function stripZeros(text: string): string {
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

function sumSizes(objects: LocalObject[]): number {
  return objects.reduce((total, object) => total + object.sizeBytes, 0);
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`quota policy: ${message}`);
}
