/**
 * The core's parts wired as PlasmaStore wires them (real memory, lifecycle, stats, LRU), for
 * unit tests that run without sockets or Workers. Private to the store's tests.
 * @module
 */
import { ObjectSource } from "../protocol/messages.ts";
import { idKey } from "../protocol/object_id.ts";
import { LruEvictionPolicy } from "./eviction_policy.ts";
import type { LocalObject } from "./local_object.ts";
import { type NewObject, ObjectLifecycle } from "./object_lifecycle.ts";
import { StatsCollector } from "./stats_collector.ts";
import { StoreMemory } from "./store_memory.ts";

/** Lifecycle notifications, recorded in order. */
export type CoreNote = { sealed: string } | { deleted: string } | "memoryFreed";

export interface CoreParts {
  memory: StoreMemory;
  stats: StatsCollector;
  eviction: LruEvictionPolicy;
  lifecycle: ObjectLifecycle;
  notes: CoreNote[];
  /** Sealed-object hooks a test adds (e.g. a get queue). */
  onSealed: ((object: LocalObject) => void)[];
}

/** Runs `body` with fresh parts over `capacityBytes` of memory, freed afterwards even on failure. */
export async function withCore(
  options: { capacityBytes: number; spillingEnabled?: boolean },
  body: (parts: CoreParts) => void | Promise<void>,
): Promise<void> {
  const memory = new StoreMemory({
    capacityBytes: options.capacityBytes,
    directory: "/dev/shm",
    populate: false,
    hugepages: false,
  });
  try {
    const eviction = new LruEvictionPolicy();
    const stats = new StatsCollector(
      { spillingEnabled: options.spillingEnabled ?? false },
      (object, evictable) => eviction.evictableChanged(object, evictable),
    );
    const notes: CoreNote[] = [];
    const onSealed: ((object: LocalObject) => void)[] = [];
    const lifecycle = new ObjectLifecycle(memory, stats, {
      objectSealed: (object) => {
        notes.push({ sealed: object.key });
        for (const hook of onSealed) hook(object);
      },
      objectDeleted: (object) => notes.push({ deleted: object.key }),
      objectRemoved: () => {},
      memoryFreed: () => notes.push("memoryFreed"),
    });
    await body({ memory, stats, eviction, lifecycle, notes, onSealed });
  } finally {
    memory.close();
  }
}

/** An id of one byte per character: `id("a")`. */
export function id(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** What a create needs, for an object named `text` of `dataSize` bytes. */
export function newObject(
  text: string,
  dataSize: number,
  source: ObjectSource = ObjectSource.CreatedByWorker,
  creatorId = 1,
): NewObject {
  return { id: id(text), key: idKey(id(text)), dataSize, metadataSize: 0, source, creatorId };
}

/** Creates an object or fails the test. */
export function mustCreate(lifecycle: ObjectLifecycle, spec: NewObject): LocalObject {
  const object = lifecycle.create(spec);
  if (typeof object === "number") throw new Error(`could not create ${spec.key}: code ${object}`);
  return object;
}

/** Seeded PRNG (mulberry32): the same seed replays the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of a randomized test: PLASMA_TEST_SEED if set (to replay a failure), else a fresh one. */
export function testSeed(): number {
  const fromEnv = Deno.env.get("PLASMA_TEST_SEED");
  return fromEnv === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(fromEnv);
}
