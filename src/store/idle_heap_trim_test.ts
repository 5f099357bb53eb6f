import assert from "node:assert/strict";
import { GARBAGE_BYTES_MIN, IdleHeapTrim, MemoryRelease } from "./idle_heap_trim.ts";

const QUIET_MS = 100;
const INTERVAL_MS = 1000;

/** A trim schedule on a hand-driven clock: timers fire only when the test advances time. */
function harness() {
  let now = 0;
  let activity = 0;
  let timers: { at: number; callback: () => void; id: number }[] = [];
  let nextId = 1;
  const trim = new IdleHeapTrim({
    trim: () => {},
    activity: () => activity,
    quietMs: QUIET_MS,
    intervalMs: INTERVAL_MS,
    now: () => now,
    setTimer: (callback, ms) => {
      timers.push({ at: now + ms, callback, id: nextId });
      return nextId++;
    },
    clearTimer: (id) => void (timers = timers.filter((timer) => timer.id !== id)),
  });
  return {
    trim,
    /** The loop served `events` events, then went to sleep. */
    burstThenSleep(events: number) {
      activity += events;
      trim.loopIdle();
    },
    /** The loop woke and served `events` events, and has not slept since. */
    serving(events: number) {
      activity += events;
    },
    /** Moves the clock, firing every timer that falls due on the way, in order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const due = timers[0];
        if (due === undefined || due.at > end) break;
        timers.shift();
        now = due.at;
        due.callback();
      }
      now = end;
    },
    get pendingTimers() {
      return timers.length;
    },
  };
}

Deno.test("idle heap trim: one trim once the loop has slept for the quiet time after a burst", () => {
  const h = harness();
  h.burstThenSleep(500);
  h.advance(QUIET_MS - 1);
  assert.equal(h.trim.trims, 0, "not before the quiet time");
  h.advance(1);
  assert.equal(h.trim.trims, 1);
  h.advance(10 * INTERVAL_MS);
  assert.equal(h.trim.trims, 1, "nothing new since: no second trim");
  assert.equal(h.pendingTimers, 0, "and no timer left behind");
});

Deno.test("idle heap trim: a loop that wakes within the quiet time is not trimmed until it sleeps quietly", () => {
  const h = harness();
  h.burstThenSleep(10);
  h.advance(QUIET_MS / 2);
  h.burstThenSleep(10); // woke, served, slept again: the quiet time counts from here
  h.advance(QUIET_MS / 2 + 1);
  assert.equal(h.trim.trims, 0);
  h.advance(QUIET_MS / 2);
  assert.equal(h.trim.trims, 1);
});

Deno.test("idle heap trim: a loop still busy when the timer fires is left alone until its next sleep", () => {
  const h = harness();
  h.burstThenSleep(10);
  h.advance(QUIET_MS / 2);
  h.serving(5); // woke and is still serving when the timer fires
  h.advance(QUIET_MS);
  assert.equal(h.trim.trims, 0, "not trimmed while busy");
  assert.equal(h.pendingTimers, 0, "and not polled while busy");
  h.burstThenSleep(5);
  h.advance(QUIET_MS);
  assert.equal(h.trim.trims, 1, "trimmed once quiet after its next sleep");
});

Deno.test("idle heap trim: bursts closer together than the interval are trimmed at most once per interval", () => {
  const h = harness();
  h.burstThenSleep(10);
  h.advance(QUIET_MS);
  assert.equal(h.trim.trims, 1);
  h.burstThenSleep(10);
  h.advance(QUIET_MS);
  assert.equal(h.trim.trims, 1, "within the interval of the last trim");
  h.advance(INTERVAL_MS - QUIET_MS - 1); // to 1 ms before the last trim + the interval
  assert.equal(h.trim.trims, 1);
  h.advance(1);
  assert.equal(h.trim.trims, 2, "trimmed when the interval has passed, still quiet");
});

Deno.test("idle heap trim: close cancels the pending trim", () => {
  const h = harness();
  h.burstThenSleep(10);
  h.trim.close();
  h.advance(10 * INTERVAL_MS);
  assert.equal(h.trim.trims, 0);
  assert.equal(h.pendingTimers, 0);
  h.burstThenSleep(10);
  assert.equal(h.pendingTimers, 0, "a closed schedule sets no timer");
});

Deno.test("memory release: a last-resort GC only once enough garbage has piled up, and always a C-heap trim", () => {
  const collections: unknown[] = [];
  let heapUsed = 10 * 1024 * 1024;
  let trims = 0;
  const release = new MemoryRelease(
    (options) => {
      collections.push(options);
      heapUsed = 3 * 1024 * 1024; // what survived
    },
    () => heapUsed,
    () => void trims++,
  );
  release.release();
  assert.deepEqual(collections, [{ type: "major", flavor: "last-resort" }], "10 MiB above nothing: collected");
  assert.equal(trims, 1);
  heapUsed += GARBAGE_BYTES_MIN - 1;
  release.release();
  assert.equal(collections.length, 1, "less than GARBAGE_BYTES_MIN above what survived: not worth a pause");
  assert.equal(trims, 2, "the C heap is trimmed all the same");
  heapUsed += 1;
  release.release();
  assert.equal(collections.length, 2);
});

Deno.test("memory release: without an exposed gc it only trims the C heap", () => {
  let trims = 0;
  const release = new MemoryRelease(undefined, () => 1 << 30, () => void trims++);
  release.release();
  assert.equal(trims, 1);
  new MemoryRelease().release(); // the real thing in a test process (no gc exposed): no throw
});

Deno.test("idle heap trim: a release that throws is logged, not thrown out of the timer", () => {
  let now = 0;
  let due: (() => void) | undefined;
  const trim = new IdleHeapTrim({
    trim: () => {
      throw new Error("planted");
    },
    activity: () => 1,
    now: () => now,
    setTimer: (callback) => (due = callback, 1),
    clearTimer: () => {},
  });
  const consoleError = console.error;
  const lines: string[] = [];
  console.error = (line: string) => void lines.push(line);
  try {
    trim.loopIdle();
    now = 10_000;
    due!();
  } finally {
    console.error = consoleError;
  }
  assert.equal(trim.trims, 1);
  assert.match(lines.join("\n"), /giving memory back failed: planted/);
});
