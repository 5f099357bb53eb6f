/**
 * The reliability suite, runnable by hand: random client kills (TypeScript and pyarrow), a
 * stateful fuzzer of both dialects, and a soak of many concurrent clients, each against its own
 * store process. `--mode short` is the slice CI runs (tests/reliability_test.ts); `--mode long`
 * is the full run recorded in bench/README.md. Exits 1 when any part finds a problem.
 *
 *   deno run -A bench/reliability/reliability.ts --mode long [--part kills|fuzz|soak] [--seed N]
 * @module
 */
import { parseArgs } from "node:util";
import { ProbedStore } from "./_store_probe.ts";
import { describeKills, runKills } from "./kills.ts";
import { describeFuzz, runFuzz } from "./fuzz.ts";
import { describeSoak, runSoak } from "./soak.ts";

/** Sizes of each part by mode. */
export const MODES = {
  short: {
    kills: { kills: 8, concurrency: 4, pyarrowShare: 0.5 },
    fuzz: { frames: 50_000, connections: 8, mutationRate: 0.05 },
    soak: { clients: 100, processes: 2, seconds: 6 },
  },
  long: {
    kills: { kills: 1_000, concurrency: 8, pyarrowShare: 0.5 },
    fuzz: { frames: 10_000_000, connections: 32, mutationRate: 0.02 },
    soak: { clients: 1_000, processes: 4, seconds: 60 },
  },
} as const;

export type Part = "kills" | "fuzz" | "soak";
const STORE_FLAGS = ["--memory", "64MiB"];

/** Runs one part in a fresh store; returns its line and whether it passed. */
export async function runPart(part: Part, mode: keyof typeof MODES, seed: number): Promise<[string, boolean]> {
  const store = await ProbedStore.start(STORE_FLAGS);
  let line: string;
  let passed: boolean;
  try {
    if (part === "kills") {
      const result = await runKills(store, { ...MODES[mode].kills, seed });
      line = describeKills(result);
      passed = result.complaint === null;
    } else if (part === "fuzz") {
      const result = await runFuzz(store, { ...MODES[mode].fuzz, seed });
      line = describeFuzz(result, seed);
      passed = result.complaint === null;
    } else {
      const result = await runSoak(store, { ...MODES[mode].soak, seed });
      line = describeSoak(result);
      passed = result.complaint === null;
    }
  } finally {
    const { code, output } = await store.stop();
    if (code !== 0) {
      line = `store exited with ${code}: ${output.slice(-2000)}`;
      passed = false;
    }
  }
  return [line!, passed!];
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { mode: { type: "string", default: "short" }, part: { type: "string" }, seed: { type: "string" } },
  });
  const mode = values.mode as keyof typeof MODES;
  if (!(mode in MODES)) throw new RangeError(`--mode is short or long, got ${values.mode}`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const parts: Part[] = values.part === undefined ? ["kills", "fuzz", "soak"] : [values.part as Part];
  console.log(`reliability suite, ${mode} mode, seed ${seed} (replay: --seed ${seed})`);
  let failed = false;
  for (const part of parts) {
    const [line, passed] = await runPart(part, mode, seed);
    console.log(`${part}: ${line}`);
    failed ||= !passed;
  }
  Deno.exit(failed ? 1 : 0);
}
