/**
 * The quota policy alone, over real LocalObjects: Arrow 11's rules (30% reserve, one quota per
 * client, eviction within the quota, pinned objects and a disconnect's objects given up to the
 * shared LRU) and its debug string, plus a seeded random walk checked against the invariants.
 */
import assert from "node:assert/strict";
import { ObjectSource, ObjectState } from "../protocol/messages.ts";
import type { LocalObject } from "./local_object.ts";
import { ObjectRecords } from "./object_records.ts";
import { formatLikeCxxStream, QuotaPolicy } from "./quota_policy.ts";

const MIB = 1024 * 1024;
const CAPACITY = 10_000_000;
const CHUNK = { id: 1, fd: -1, sizeBytes: CAPACITY };
let nextKey = 0;
/** One table of records for every test's objects (objects are never removed from it here). */
const records = new ObjectRecords();

function object(dataSize: number, options: { sealed?: boolean; refCount?: number } = {}): LocalObject {
  const created = records.add(
    `k${nextKey++}`,
    { dataSize, metadataSize: 1, source: ObjectSource.CreatedByWorker, creatorId: 1 },
    { chunkId: 1, offset: 0, allocatedBytes: dataSize + 64 },
    CHUNK,
  );
  if (options.sealed ?? true) created.state = ObjectState.Sealed;
  created.refCount = options.refCount ?? 0;
  return created;
}

const NO_SHARED = { objects: 0, dataBytes: 0, evictions: 0, bytesEvicted: 0 };
const NO_MEMORY = { allocatedBytes: 0, pinnedBytes: 0 };

Deno.test("a quota is set once per client and only while the shared LRU keeps 30% of the capacity", () => {
  const policy = new QuotaPolicy(CAPACITY);
  assert.equal(policy.setQuota(1, "a", 8 * MIB), false);
  assert.equal(policy.setQuota(1, "a", 5 * MIB), true);
  assert.equal(policy.setQuota(1, "a", 5 * MIB), false);
  assert.equal(policy.setQuota(2, "b", 3 * MIB), false);
  assert.equal(policy.setQuota(2, "b", 1 * MIB), true);
  assert.equal(policy.setQuota(3, "c", -1), false);
  policy.clientDisconnected(1);
  assert.equal(policy.setQuota(3, "c", 5 * MIB), true, "a disconnect returns its quota");
});

Deno.test("a create larger than the quota does not fit; one that fits evicts the oldest unreferenced objects", () => {
  const policy = new QuotaPolicy(CAPACITY);
  policy.setQuota(1, "a", 5 * MIB);
  assert.deepEqual(policy.makeRoom(1, 5 * MIB + 1), { fits: false, quotaBytes: 5 * MIB });
  const first = object(2 * MIB);
  const second = object(2 * MIB);
  policy.objectCreated(1, first);
  policy.objectCreated(1, second);
  assert.deepEqual(policy.makeRoom(1, MIB - 2), { fits: true, victims: [] });
  const room = policy.makeRoom(1, 2 * MIB);
  assert.ok(room.fits);
  assert.deepEqual(room.victims, [first]);
  assert.ok(policy.owns(first), "a victim stays owned until the store removes it");
  policy.objectRemoved(first);
  assert.equal(policy.owns(first), false);
  assert.ok(policy.owns(second));
});

Deno.test("referenced objects chosen for room are given up to the shared LRU, not evicted", () => {
  const policy = new QuotaPolicy(CAPACITY);
  policy.setQuota(1, "a", 5 * MIB);
  const pinned = object(3 * MIB, { refCount: 1 });
  const unsealed = object(MIB, { sealed: false, refCount: 1 });
  policy.objectCreated(1, pinned);
  policy.objectCreated(1, unsealed);
  const room = policy.makeRoom(1, 4 * MIB);
  assert.deepEqual(room, { fits: true, victims: [] });
  assert.equal(policy.owns(pinned), false);
  assert.equal(policy.owns(unsealed), false);
  assert.equal(pinned.linked, false);
});

Deno.test("RefreshLRU makes an owned object its client's most recent", () => {
  const policy = new QuotaPolicy(CAPACITY);
  policy.setQuota(1, "a", 5 * MIB);
  const [a, b] = [object(2 * MIB), object(2 * MIB)];
  policy.objectCreated(1, a);
  policy.objectCreated(1, b);
  policy.refresh(a);
  const room = policy.makeRoom(1, 2 * MIB);
  assert.ok(room.fits);
  assert.deepEqual(room.victims, [b]);
});

Deno.test("a disconnect gives every owned object back and clients without quota own nothing", () => {
  const policy = new QuotaPolicy(CAPACITY);
  const unowned = object(MIB);
  policy.objectCreated(7, unowned);
  assert.equal(policy.owns(unowned), false);
  assert.deepEqual(policy.makeRoom(7, CAPACITY), { fits: true, victims: [] });
  policy.setQuota(1, "a", 5 * MIB);
  const owned = [object(MIB), object(MIB, { refCount: 1 })];
  owned.forEach((item) => policy.objectCreated(1, item));
  assert.deepEqual(policy.clientDisconnected(1), owned);
  assert.ok(owned.every((item) => !policy.owns(item)));
  assert.equal(policy.hasQuota(1), false);
  assert.deepEqual(policy.clientDisconnected(1), []);
});

Deno.test("the debug string has Arrow's lines: quota maps, memory, the shared LRU and each client's", () => {
  const policy = new QuotaPolicy(CAPACITY);
  policy.setQuota(1, "local", 5 * MIB);
  const big = object(3 * MIB);
  const small = object(MIB, { refCount: 1 });
  policy.objectCreated(1, big);
  policy.objectCreated(1, small);
  const text = policy.debugString(
    { objects: 2, dataBytes: 4 * MIB + 2, evictions: 3, bytesEvicted: 9 },
    { allocatedBytes: 123, pinnedBytes: MIB + 1 },
  );
  assert.equal(
    text,
    [
      "num clients with quota: 1",
      "quota map size: 2",
      "pinned quota map size: 1",
      "allocated bytes: 123",
      "allocation limit: 10000000",
      `pinned bytes: ${MIB + 1}`,
      `(global lru) capacity: ${CAPACITY - 5 * MIB}`,
      "(global lru) used: 94.3719%",
      "(global lru) num objects: 2",
      "(global lru) num evictions: 3",
      "(global lru) bytes evicted: 9",
      `(local) capacity: ${5 * MIB}`,
      "(local) used: 80%",
      "(local) num objects: 2",
      "(local) num evictions: 0",
      "(local) bytes evicted: 0",
    ].join("\n"),
  );
  policy.clientDisconnected(1);
  assert.match(policy.debugString(NO_SHARED, NO_MEMORY), /^num clients with quota: 0\n.*\n\(global lru\) used: 0%/s);
});

Deno.test("percentages print as a C++ stream prints doubles (6 significant digits)", () => {
  const cases: [number, string][] = [
    [41.94306, "41.9431"],
    [0, "0"],
    [100, "100"],
    [52.4288, "52.4288"],
    [1e-5, "1e-05"],
    [1234567, "1.23457e+06"],
    [99.99999, "100"],
    [-3.5, "-3.5"],
    [0.000123456, "0.000123456"],
  ];
  for (const [value, text] of cases) assert.equal(formatLikeCxxStream(value), text, `${value}`);
});

Deno.test("random creates, releases, removals and disconnects (seeded) keep every quota invariant", () => {
  const seed = Number(Deno.env.get("QUOTA_SEED") ?? Date.now() % 1_000_000);
  console.log(`quota policy random walk: seed ${seed} (replay with QUOTA_SEED=${seed})`);
  let state = seed;
  const random = (bound: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % bound;
  };
  const policy = new QuotaPolicy(CAPACITY);
  /** Live objects by record slot (the policy hands back new handles, equal by slot). */
  const live = new Map<number, LocalObject>();
  for (let step = 0; step < 5_000; step++) {
    const client = 1 + random(4);
    const action = random(6);
    if (action === 0) policy.setQuota(client, `c${client}`, random(3 * MIB));
    if (action === 1 || action === 2) {
      const item = object(random(MIB), { refCount: random(3) === 0 ? 1 : 0 });
      const room = policy.makeRoom(client, item.sizeBytes);
      if (!room.fits) continue;
      for (const victim of room.victims) {
        assert.ok(victim.refCount === 0 && victim.sealed, "only unreferenced sealed objects are victims");
        policy.objectRemoved(victim);
        live.delete(victim.slot);
      }
      policy.objectCreated(client, item);
      live.set(item.slot, item);
    }
    const items = [...live.values()];
    if (action === 3 && items.length > 0) items[random(items.length)].refCount = 0;
    if (action === 4 && items.length > 0) {
      const item = items[random(items.length)];
      policy.objectRemoved(item);
      live.delete(item.slot);
    }
    if (action === 5 && random(10) === 0) policy.clientDisconnected(client);
    checkInvariants(policy, live);
  }
});

function checkInvariants(policy: QuotaPolicy, live: Map<number, LocalObject>): void {
  const text = policy.debugString(NO_SHARED, NO_MEMORY);
  const quotas = [...text.matchAll(/\((c\d)\) capacity: (\d+)\n\(c\d\) used: [^\n]*\n\(c\d\) num objects: (\d+)/g)];
  const owned = Number(/quota map size: (\d+)/.exec(text)![1]);
  assert.equal(quotas.reduce((total, match) => total + Number(match[3]), 0), owned, "each owned object in one list");
  const quotaBytes = quotas.reduce((total, match) => total + Number(match[2]), 0);
  assert.ok(CAPACITY - quotaBytes >= CAPACITY * 0.3, "quotas leave the shared LRU 30%");
  for (const [, name, used] of text.matchAll(/\((c\d)\) used: ([^%]+)%/g)) {
    assert.ok(Number(used) <= 100, `client ${name} uses ${used}% of its quota`);
  }
  for (const item of live.values()) {
    if (!policy.owns(item)) assert.equal(item.linked, false, "an unowned object is unlinked");
  }
}
