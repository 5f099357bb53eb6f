import assert from "node:assert/strict";
import { RateLimitedLog } from "./rate_limited_log.ts";

function fakeLog(linesPerWindow: number, windowMs: number) {
  const lines: string[] = [];
  let now = 0;
  const log = new RateLimitedLog({ write: (line) => lines.push(line), nowMs: () => now, linesPerWindow, windowMs });
  return { lines, log, advance: (ms: number) => now += ms };
}

Deno.test("a rate-limited log prints at most its quota per window, then says how many it suppressed", () => {
  const { lines, log, advance } = fakeLog(3, 1_000);
  for (let index = 0; index < 100; index++) log.line("bad-frame", `line ${index}`);
  assert.deepEqual(lines, ["line 0", "line 1", "line 2"]);
  assert.equal(log.suppressedTotal, 97);
  advance(1_000);
  log.line("bad-frame", "line 100");
  assert.deepEqual(lines.slice(3), [
    'plasma store: 97 more "bad-frame" lines suppressed in the last 1000 ms',
    "line 100",
  ]);
});

Deno.test("a rate-limited log keeps a separate quota per kind", () => {
  const { lines, log } = fakeLog(1, 1_000);
  log.line("a", "a1");
  log.line("a", "a2");
  log.line("b", "b1");
  assert.deepEqual(lines, ["a1", "b1"]);
  assert.equal(log.suppressedTotal, 1);
});
