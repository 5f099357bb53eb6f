/**
 * The object manager's transfer counters, kept in one place and read by `stats` and the tests.
 * @module
 */

export interface TransferCounters {
  bytesPulled: number;
  objectsPulled: number;
  bytesPushed: number;
  objectsPushed: number;
  pullsInFlight: number;
  bytesInFlight: number;
  pullsFailed: number;
  peersRejected: number;
}

export function newTransferCounters(): TransferCounters {
  return {
    bytesPulled: 0,
    objectsPulled: 0,
    bytesPushed: 0,
    objectsPushed: 0,
    pullsInFlight: 0,
    bytesInFlight: 0,
    pullsFailed: 0,
    peersRejected: 0,
  };
}
