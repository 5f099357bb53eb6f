/**
 * `plasma list`: every object as a table row (id, size, state, source, refcount, age), sorted and
 * limited, or as JSON lines' worth of fields with `--json`. Read-only.
 * @module
 */
import type { ObjectListing } from "../../client/mod.ts";
import { sourceLabel } from "../../observe/stats_view.ts";
import { CliError } from "./connect.ts";
import { formatTable, humanBytes, humanDuration } from "./format.ts";

/** One object as the CLI shows it. */
export interface ListRow {
  id: string;
  sizeBytes: number;
  dataSizeBytes: number;
  metadataSizeBytes: number;
  state: string;
  source: string;
  refCount: number;
  ageMs: number;
}

/** The keys `--sort` accepts, and how each orders rows (largest/oldest first for numbers). */
export const SORT_KEYS: Record<string, (a: ListRow, b: ListRow) => number> = {
  size: (a, b) => b.sizeBytes - a.sizeBytes || a.id.localeCompare(b.id),
  age: (a, b) => b.ageMs - a.ageMs || a.id.localeCompare(b.id),
  refcount: (a, b) => b.refCount - a.refCount || a.id.localeCompare(b.id),
  id: (a, b) => a.id.localeCompare(b.id),
  state: (a, b) => a.state.localeCompare(b.state) || a.id.localeCompare(b.id),
  source: (a, b) => a.source.localeCompare(b.source) || a.id.localeCompare(b.id),
};

/** Listings as rows, sorted by `sortKey`, at most `limit` of them (all when limit is undefined). */
export function listRows(listings: ObjectListing[], nowMs: number, sortKey: string, limit?: number): ListRow[] {
  const order = SORT_KEYS[sortKey];
  if (order === undefined) {
    throw new CliError(`--sort takes one of ${Object.keys(SORT_KEYS).join(", ")}, got ${JSON.stringify(sortKey)}`);
  }
  const rows = listings.map((listing) => ({
    id: listing.id.toHex(),
    sizeBytes: listing.dataSize + listing.metadataSize,
    dataSizeBytes: listing.dataSize,
    metadataSizeBytes: listing.metadataSize,
    state: listing.state,
    source: sourceLabel(listing.source),
    refCount: listing.refCount,
    ageMs: Math.max(0, nowMs - listing.createTimeMs),
  }));
  rows.sort(order);
  return limit === undefined ? rows : rows.slice(0, limit);
}

/** Rows as an aligned table with a header, then a count line (`3 of 10 objects`). */
export function renderList(rows: ListRow[], totalObjects: number): string {
  const table = formatTable(
    ["ID", "SIZE", "STATE", "SOURCE", "REFS", "AGE"],
    rows.map((row) => [
      row.id,
      humanBytes(row.sizeBytes),
      row.state,
      row.source,
      String(row.refCount),
      humanDuration(row.ageMs),
    ]),
    new Set([1, 4, 5]),
  );
  return `${table}\n${rows.length} of ${totalObjects} objects`;
}
