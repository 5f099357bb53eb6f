/**
 * Text formatting for the `plasma` CLI: human units, rates, ages and aligned tables.
 * Every function here is pure, so the CLI's output can be checked without a terminal.
 * @module
 */
import { formatSize } from "../sizes.ts";

/** Bytes in human units (`1.5 GiB`); fractions of a byte (averaged rates) are rounded. */
export function humanBytes(bytes: number): string {
  return formatSize(Math.max(0, Math.round(bytes)));
}

/** A rate per second, `12.0 MiB/s` for bytes or `3.5/s` for counts. */
export function humanRate(perSecond: number, unit: "bytes" | "count"): string {
  if (unit === "bytes") return `${humanBytes(perSecond)}/s`;
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)}/s`;
}

/** A duration in the largest unit that keeps it readable: `850ms`, `12s`, `5m3s`, `2h10m`. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

/** A percentage with one decimal, `0.0%` for an empty whole. */
export function percent(part: number, whole: number): string {
  return `${whole > 0 ? ((100 * part) / whole).toFixed(1) : "0.0"}%`;
}

/** Columns padded to their widest cell; numbers (right-aligned columns) listed in `rightAligned`. */
export function formatTable(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => rightAligned.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))
      .join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** A bar of `width` cells filled in proportion to `fraction` (clamped to 0..1). */
export function gauge(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}
