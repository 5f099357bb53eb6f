/**
 * Byte sizes as people type them (`256MiB`, `1.5 GiB`, `4G`) and as the store prints them.
 * Invariant: a parsed size is a whole, non-negative, safe-integer number of bytes, computed exactly.
 * @module
 */

/** Longest size text accepted; longer input is refused before any arithmetic. */
export const SIZE_TEXT_LENGTH_MAX = 64;

/** Bytes per unit, keyed by the lower-cased unit. Single letters are binary, like `free -h`. */
const UNIT_BYTES: ReadonlyMap<string, bigint> = new Map([
  ["", 1n],
  ["b", 1n],
  ["k", 1n << 10n],
  ["kib", 1n << 10n],
  ["m", 1n << 20n],
  ["mib", 1n << 20n],
  ["g", 1n << 30n],
  ["gib", 1n << 30n],
  ["t", 1n << 40n],
  ["tib", 1n << 40n],
  ["kb", 10n ** 3n],
  ["mb", 10n ** 6n],
  ["gb", 10n ** 9n],
  ["tb", 10n ** 12n],
]);

/** Units {@linkcode formatSize} steps through, each 1024 times the one before. */
const FORMAT_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

// Digits, an optional fraction, at most one space, then letters: the unit is looked up separately
// so an unknown one gets its own message.
const SIZE_PATTERN = /^(\d+)(?:\.(\d+))? ?([a-zA-Z]*)$/;

/**
 * Parses a byte size: plain bytes, or a number (with an optional fraction) followed by an optional
 * space and a unit: `B`, `KiB`/`MiB`/`GiB`/`TiB` (binary), `KB`/`MB`/`GB`/`TB` (decimal), or
 * `K`/`M`/`G`/`T` (binary). Units are case-insensitive. Fractions of a byte are rounded down.
 * @param text the size as typed, e.g. `1.5GiB`
 * @returns the size in whole bytes
 * @throws {RangeError} on empty or malformed text, a negative number, an unknown unit, or a size
 *   above `Number.MAX_SAFE_INTEGER` bytes
 * @example
 * ```ts
 * parseSize("1.5 GiB"); // 1610612736
 * parseSize("2MB"); // 2000000
 * ```
 */
export function parseSize(text: string): number {
  if (text.length > SIZE_TEXT_LENGTH_MAX) {
    throw new RangeError(
      `Invalid size ${JSON.stringify(text.slice(0, 20))}...: longer than ${SIZE_TEXT_LENGTH_MAX} characters`,
    );
  }
  const match = SIZE_PATTERN.exec(text);
  if (match === null) {
    throw new RangeError(
      `Invalid size ${JSON.stringify(text)}: expected a non-negative number with an optional unit, e.g. 512MiB`,
    );
  }
  const [, whole, fraction = "", unit] = match;
  const unitBytes = UNIT_BYTES.get(unit.toLowerCase());
  if (unitBytes === undefined) {
    throw new RangeError(
      `Invalid size ${JSON.stringify(text)}: unknown unit ${
        JSON.stringify(unit)
      } (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)`,
    );
  }
  // Exact rational arithmetic: 4.35MB must be 4350000 bytes, which floating point gets wrong.
  const scale = 10n ** BigInt(fraction.length);
  const bytes = (BigInt(whole + fraction) * unitBytes) / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`Invalid size ${JSON.stringify(text)}: larger than ${Number.MAX_SAFE_INTEGER} bytes`);
  }
  const result = Number(bytes);
  if (!Number.isSafeInteger(result) || result < 0) throw new Error(`parseSize produced ${result} from ${text}`);
  return result;
}

/**
 * Formats a byte count for people: whole bytes below 1 KiB, else one decimal in the largest
 * binary unit that keeps the number at least 1.
 * @param bytes a non-negative safe integer
 * @returns e.g. `512 B`, `256.0 MiB`, `1.5 GiB`
 * @throws {RangeError} when `bytes` is negative, fractional or not a safe integer
 * @example
 * ```ts
 * formatSize(1536 * 1024 * 1024); // "1.5 GiB"
 * ```
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`Cannot format ${bytes} as a size: expected a non-negative integer number of bytes`);
  }
  if (bytes < 1024) return `${bytes} B`;
  let unitIndex = 0;
  let value = bytes;
  // Step up while the value, as printed, would reach 1024 (so 1023.96 KiB prints as 1.0 MiB).
  while (unitIndex < FORMAT_UNITS.length - 1 && Number(value.toFixed(1)) >= 1024) {
    value /= 1024;
    unitIndex += 1;
  }
  return `${value.toFixed(1)} ${FORMAT_UNITS[unitIndex]}`;
}
