/**
 * Tells whether runnable tasks have been waiting for a CPU lately, from the kernel's pressure
 * stall information (/proc/pressure/cpu, "some ... total=" microseconds), sampled at most once per
 * window so the check costs ~nothing per event. Invariant: without PSI it reports "no pressure",
 * so the loop behaves as it did before this signal existed.
 * @module
 */

const PRESSURE_PATH = "/proc/pressure/cpu";

/** How often pressure is sampled by default (the loop's spinning and the spill helper's use of a core). */
export const PRESSURE_WINDOW_MS = 10;
/** Pressure is high when tasks waited for a CPU more than this share of the window. */
export const PRESSURE_STALL_FRACTION_MAX = 0.05;

/** Samples the cumulative CPU stall time; {@linkcode CpuPressure.high} is the last window's verdict. */
export class CpuPressure {
  readonly #windowMs: number;
  readonly #stallFractionMax: number;
  #file: PressureFile | null | undefined;
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
    if (this.#file === null || now - this.#sampledAt < this.#windowMs) return this.#high;
    this.#file ??= PressureFile.open();
    const stallMicros = this.#file?.stallMicros() ?? null;
    if (stallMicros === null) {
      this.#file?.close();
      this.#file = null;
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

  /** Closes the file; a later sample opens it again. Safe to call twice. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

/** Keeps /proc/pressure/cpu open and re-reads it from the start: no allocation per sample. */
class PressureFile {
  readonly #file: Deno.FsFile;
  readonly #bytes = new Uint8Array(256);

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** The file, or null where PSI is missing (old kernels, some containers) or unreadable. */
  static open(): PressureFile | null {
    try {
      return new PressureFile(Deno.openSync(PRESSURE_PATH, { read: true }));
    } catch {
      return null;
    }
  }

  /** The "some" line's total stall in microseconds, or null when it cannot be read. */
  stallMicros(): number | null {
    let length: number | null;
    try {
      this.#file.seekSync(0, Deno.SeekMode.Start);
      length = this.#file.readSync(this.#bytes);
    } catch {
      return null;
    }
    return length === null ? null : someTotal(this.#bytes, length);
  }

  close(): void {
    this.#file.close();
  }
}

const TOTAL_KEY = [0x74, 0x6f, 0x74, 0x61, 0x6c, 0x3d]; // "total="
const NEWLINE = 0x0a;
const DIGIT_0 = 0x30;

/** Parses the digits after the first "total=" of the first line ("some avg10=... total=N"). */
export function someTotal(bytes: Uint8Array, length: number): number | null {
  let index = 0;
  while (index + TOTAL_KEY.length <= length && bytes[index] !== NEWLINE) {
    if (TOTAL_KEY.every((byte, offset) => bytes[index + offset] === byte)) break;
    index++;
  }
  index += TOTAL_KEY.length;
  let total = 0;
  let digits = 0;
  for (; index < length && bytes[index] >= DIGIT_0 && bytes[index] <= DIGIT_0 + 9; index++, digits++) {
    total = total * 10 + bytes[index] - DIGIT_0;
  }
  return digits === 0 ? null : total;
}
