/**
 * Tells whether runnable tasks have been waiting for a CPU lately, from the kernel's pressure
 * stall information (/proc/pressure/cpu, "some ... total=" microseconds), sampled at most once per
 * window so the check costs ~nothing per event. Invariant: without PSI it reports "no pressure",
 * so the loop behaves as it did before this signal existed.
 * @module
 */

const PRESSURE_PATH = "/proc/pressure/cpu";

/** Samples the cumulative CPU stall time; {@linkcode CpuPressure.high} is the last window's verdict. */
export class CpuPressure {
  readonly #windowMs: number;
  readonly #stallFractionMax: number;
  #available = true;
  #sampledAt = -Infinity;
  #stallMicros = 0;
  #high = false;

  /**
   * @param windowMs how often to sample (and the span the verdict covers)
   * @param stallFractionMax pressure is high when tasks waited for a CPU more than this share of the window
   */
  constructor(windowMs: number, stallFractionMax: number) {
    this.#windowMs = windowMs;
    this.#stallFractionMax = stallFractionMax;
  }

  /** True when, in the last window, some task waited for a CPU more than the allowed share. */
  high(now: number): boolean {
    if (!this.#available || now - this.#sampledAt < this.#windowMs) return this.#high;
    const stallMicros = readStallMicros();
    if (stallMicros === null) {
      this.#available = false;
      return this.#high = false;
    }
    const elapsedMicros = (now - this.#sampledAt) * 1000;
    // The first sample only starts a window.
    const first = this.#sampledAt === -Infinity;
    this.#high = !first && stallMicros - this.#stallMicros > elapsedMicros * this.#stallFractionMax;
    this.#sampledAt = now;
    this.#stallMicros = stallMicros;
    return this.#high;
  }
}

/** The "some" line's total, or null where PSI is missing (old kernels, some containers). */
function readStallMicros(): number | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(PRESSURE_PATH);
  } catch {
    return null;
  }
  const match = /^some .*total=(\d+)/m.exec(text);
  return match === null ? null : Number(match[1]);
}
