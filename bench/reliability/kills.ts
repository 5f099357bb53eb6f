/**
 * Random client kills: rounds of TypeScript and pyarrow clients, each SIGKILLed at a random
 * moment while it holds unsealed creates, references, a waiting get or a subscription. After
 * all rounds the store's held counters must return exactly to baseline, and its fds and RSS
 * close to it. Invariant: every victim spawned is killed and reaped before the function returns.
 * @module
 */
import { PlasmaClient } from "../../src/client/mod.ts";
import { mib, type ProbedStore, REPO, seededRandom, settle, type StoreFootprint } from "./_store_probe.ts";

/** How many clients die, how many at once, and the seed of every choice. */
export interface KillOptions {
  kills: number;
  concurrency: number;
  seed: number;
  /** Share of victims that are pyarrow clients. */
  pyarrowShare: number;
}

export interface KillResult {
  kills: number;
  baseline: StoreFootprint;
  after: StoreFootprint;
  /** Null when every held counter came back to baseline; else what did not. */
  complaint: string | null;
}

const PYTHON = `${REPO}.venv/bin/python`;
const SHARED_OBJECTS = 8;

function spawnVictim(store: ProbedStore, pyarrow: boolean, seed: number, shared: string[]): Deno.ChildProcess {
  const [command, args] = pyarrow
    ? [PYTHON, [`${REPO}bench/reliability/_victim.py`]]
    : [Deno.execPath(), ["run", "-A", `--config=${REPO}deno.json`, `${REPO}bench/reliability/_victim.ts`]];
  return new Deno.Command(command, {
    args: [...args, store.socketPath, String(seed), ...shared],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Compares the held counters with the baseline; null when equal. */
export function counterDifference(baseline: StoreFootprint, now: StoreFootprint): string | null {
  const differences = Object.entries(now.counters)
    .filter(([name, value]) => baseline.counters[name as keyof StoreFootprint["counters"]] !== value)
    .map(([name, value]) => `${name} ${baseline.counters[name as keyof StoreFootprint["counters"]]} -> ${value}`);
  return differences.length === 0 ? null : differences.join(", ");
}

/** Runs the kill rounds against `store`; prints one progress line per tenth of the kills. */
export async function runKills(store: ProbedStore, options: KillOptions): Promise<KillResult> {
  const random = seededRandom(options.seed);
  // The shared objects stay referenced by a client that outlives the victims: unreferenced, they
  // are fair game for eviction when the victims' unsealed creates fill the store (a create that
  // does not fit evicts what it can, as Arrow's store does), and whether that happened before a
  // kill would be a matter of timing, not of cleanup.
  await using holder = await PlasmaClient.connect(store.socketPath);
  const shared: string[] = [];
  for (let index = 0; index < SHARED_OBJECTS; index++) {
    // 20-byte ids, so pyarrow clients can name them too.
    const id = await holder.put(new Uint8Array(4096).fill(index));
    await holder.get([id]);
    shared.push(id.toHex());
  }
  const baseline = await store.footprint();
  let killed = 0;
  while (killed < options.kills) {
    const batch = Math.min(options.concurrency, options.kills - killed);
    const victims = Array.from(
      { length: batch },
      () => spawnVictim(store, random() < options.pyarrowShare, Math.floor(random() * 2 ** 31), shared),
    );
    await new Promise((resolve) => setTimeout(resolve, 100 + random() * 900));
    for (const victim of victims) {
      try {
        victim.kill("SIGKILL");
      } catch { /* exited on its own (an error): still a client gone */ }
    }
    await Promise.all(victims.map((victim) => victim.status));
    const before = killed;
    killed += batch;
    if (Math.floor(killed * 10 / options.kills) > Math.floor(before * 10 / options.kills)) {
      console.log(`  kills: ${killed}/${options.kills}`);
    }
  }
  const complaint = await settle(async () => counterDifference(baseline, await store.footprint()), 10_000);
  const after = await store.footprint();
  return { kills: killed, baseline, after, complaint };
}

/** One line for the figures table. */
export function describeKills(result: KillResult): string {
  const { baseline, after } = result;
  return `${result.kills} clients killed: held counters ${result.complaint ?? "back to baseline"}; ` +
    `fds ${baseline.fds} -> ${after.fds}; RSS ${mib(baseline.rssBytes)} -> ${mib(after.rssBytes)}`;
}
