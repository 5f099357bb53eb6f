/**
 * The object manager's transfer counters: the protocol's TransferStats (one home for the names),
 * counted here and handed to the store, which reports them in `stats`.
 * @module
 */
import { NO_TRANSFERS, type TransferStats } from "../protocol/messages.ts";

export type TransferCounters = TransferStats;

export function newTransferCounters(): TransferCounters {
  return { ...NO_TRANSFERS };
}
