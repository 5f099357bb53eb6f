/** Test fixture: store stats with chosen counters, for unit tests of what is derived from them. */
import { STATS_FIELDS } from "../protocol/encode.ts";
import type { StoreStats } from "../protocol/messages.ts";

/** Stats with every counter zero except `overrides`. */
export function statsWith(overrides: Partial<StoreStats>): StoreStats {
  const zeros = Object.fromEntries(STATS_FIELDS.map((key) => [key, 0])) as unknown as StoreStats;
  return { ...zeros, ...overrides };
}
