import assert from "node:assert/strict";
import { CpuPressure, someTotal } from "./cpu_pressure.ts";
import { parseLoopWait } from "./loop_tuning.ts";

Deno.test("PLASMA_LOOP_WAIT reads a strategy with optional spin and block times", () => {
  assert.deepEqual(parseLoopWait("block"), { strategy: "block" });
  assert.deepEqual(parseLoopWait("pressure,50,2"), { strategy: "pressure", spinMicros: 50, blockMs: 2 });
  assert.deepEqual(parseLoopWait("spin,0.5"), { strategy: "spin", spinMicros: 0.5 });
});

Deno.test("PLASMA_LOOP_WAIT rejects an unknown strategy and bad numbers with RangeError naming them", () => {
  assert.throws(() => parseLoopWait("nap"), { name: "RangeError", message: /unknown strategy "nap"/ });
  assert.throws(() => parseLoopWait("spin,-1"), {
    name: "RangeError",
    message: /spinMicros must be a number >= 0, got "-1"/,
  });
  assert.throws(() => parseLoopWait("spin,5,x"), {
    name: "RangeError",
    message: /blockMs must be a number >= 0, got "x"/,
  });
  assert.throws(() => parseLoopWait("spin,,1"), { name: "RangeError", message: /spinMicros/ });
  assert.throws(() => parseLoopWait("block,0,0.5"), {
    name: "RangeError",
    message: /blockMs must be whole milliseconds/,
  });
});

Deno.test("CpuPressure compares the stall time of a window with its allowed share", () => {
  let available = true;
  try {
    Deno.readTextFileSync("/proc/pressure/cpu");
  } catch {
    available = false;
  }
  // Any window's stall (>= 0) exceeds a negative share; none exceeds a share above 100%.
  const always = new CpuPressure(0, -1);
  const never = new CpuPressure(0, 2);
  assert.equal(always.high(performance.now()), false, "the first sample has no window yet");
  assert.equal(never.high(performance.now()), false);
  const later = performance.now() + 1;
  assert.equal(always.high(later), available, available ? "a window of PSI was read" : "no PSI: never high");
  assert.equal(never.high(later), false);
  always.close();
  never.close();
  always.close();
});

Deno.test("the stall total is read from the first (some) line of /proc/pressure/cpu only", () => {
  const text =
    "some avg10=1.50 avg60=0.20 avg300=0.00 total=1234567\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=99\n";
  const bytes = new TextEncoder().encode(text);
  assert.equal(someTotal(bytes, bytes.length), 1234567);
  const noTotal = new TextEncoder().encode("some avg10=1.50\nfull total=99\n");
  assert.equal(someTotal(noTotal, noTotal.length), null);
  assert.equal(someTotal(bytes, 20), null, "a cut-off read has no total");
});
