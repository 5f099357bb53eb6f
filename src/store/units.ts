/**
 * How the store writes byte counts in messages and debug strings (one format everywhere).
 * @module
 */

const MIB = 1024 * 1024;

/** `bytes` as MiB with one decimal, e.g. `256.0 MiB`. */
export function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}
