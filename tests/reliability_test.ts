/**
 * The CI slice of the reliability suite (bench/reliability/): each part in its short mode, each
 * against its own store process. The seed is printed; RELIABILITY_SEED replays it.
 */
import assert from "node:assert/strict";
import { type Part, runPart } from "../bench/reliability/reliability.ts";

const seed = Number(Deno.env.get("RELIABILITY_SEED") ?? Math.floor(Math.random() * 2 ** 31));

for (
  const [part, sentence] of [
    ["kills", "clients killed at random moments leave the store's counters at baseline (TS and pyarrow)"],
    ["fuzz", "a stateful fuzzer of both dialects, mutations and fds included, leaves the store healthy"],
    ["soak", "a soak of concurrent clients keeps the store's RSS and fd count flat"],
  ] as const
) {
  Deno.test(`reliability: ${sentence}`, async () => {
    console.log(`seed ${seed} (replay: RELIABILITY_SEED=${seed})`);
    const [line, passed] = await runPart(part as Part, "short", seed);
    console.log(line);
    assert.ok(passed, line);
  });
}
