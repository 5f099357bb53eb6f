/**
 * Timing helpers shared by the TypeScript benchmarks: medians of repeated runs, since the target
 * machines are small, shared and noisy. Private to bench/.
 * @module
 */

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Runs `body(iterations)` once to warm up, then `runs` times, and returns the median cost of one
 * iteration in nanoseconds. `body` must do `iterations` operations and return something that
 * depends on them, so the work cannot be optimised away.
 */
export function nsPerOperation(body: (iterations: number) => unknown, iterations: number, runs: number): number {
  let sink: unknown = body(iterations);
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    sink = body(iterations);
    samples.push(((performance.now() - start) * 1e6) / iterations);
  }
  if (sink === Symbol.for("never")) console.log(sink);
  return median(samples);
}

/** As {@linkcode nsPerOperation}, for a body that awaits. */
export async function nsPerOperationAsync(
  body: (iterations: number) => Promise<unknown>,
  iterations: number,
  runs: number,
): Promise<number> {
  await body(iterations);
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    await body(iterations);
    samples.push(((performance.now() - start) * 1e6) / iterations);
  }
  return median(samples);
}

/** A number rounded for a table: 3 significant digits below 100, whole numbers above. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toPrecision(3);
}

/** One row of a results table: what was measured, its value and unit, and a comparison. */
export interface ResultRow {
  label: string;
  value: number;
  unit: string;
  note?: string;
}

/** Prints `rows` under `title` as an aligned plain-text table. */
export function printTable(title: string, rows: readonly ResultRow[]): void {
  const cells = rows.map((row) => [row.label, formatNumber(row.value), row.unit, row.note ?? ""]);
  const widths = [0, 1, 2].map((column) => Math.max(...cells.map((cell) => cell[column].length)));
  console.log(`\n${title}`);
  for (const [label, value, unit, note] of cells) {
    console.log(
      `  ${label.padEnd(widths[0])}  ${value.padStart(widths[1])} ${unit.padEnd(widths[2])}  ${note}`.trimEnd(),
    );
  }
}

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, every thread) that process `pid` ("self" for this one) has used, in
 * ms, from /proc/PID/stat: spinning counts, sleeping does not. 10 ms resolution.
 */
export function processCpuMs(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}
