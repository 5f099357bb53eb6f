/**
 * What one FFI call costs in Deno, against a plain JS call measured in the same run: the
 * synchronous fast path, a u64 parameter given as bigint or as number, and the round trip of a
 * `nonblocking: true` call (a worker thread plus a Promise). Prints ns/call, medians of several runs.
 * Usage: deno run -A bench/ffi_overhead.ts
 * @module
 */
import { FrameConnection } from "../ffi/frame_connection.ts";
import { native } from "../ffi/library.ts";
import { Status } from "../ffi/status.ts";
import { socketPair } from "../ffi/unix_socket.ts";
import { nsPerOperation, nsPerOperationAsync, printTable, type ResultRow } from "./_measure.ts";

const RUNS = 7;
const SYNC_CALLS = 1_000_000;
const SLOW_CALLS = 200_000;
const ASYNC_CALLS = 2_000;
const POLL_IN = 1;
/** An address no mapping covers: the lookup scans an empty registry and reports not_found. */
const UNKNOWN_ADDRESS = 0x1000;

function jsNoop(value: number): number {
  return (value + 1) >>> 0;
}

async function main(): Promise<void> {
  const symbols = native();
  const lookupOut = new BigInt64Array(2);
  if (symbols.plasma_chunk_lookup(BigInt(UNKNOWN_ADDRESS), lookupOut) !== Status.not_found) {
    throw new Error("plasma_chunk_lookup of an unmapped address should report not_found");
  }

  const jsNs = nsPerOperation(
    (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) sum = jsNoop(sum);
      return sum;
    },
    SYNC_CALLS * 10,
    RUNS,
  );

  const noopNs = nsPerOperation(
    (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) sum = symbols.plasma_noop(sum);
      return sum;
    },
    SYNC_CALLS,
    RUNS,
  );

  const address = BigInt(UNKNOWN_ADDRESS);
  const lookupBigintNs = nsPerOperation(
    (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) sum += symbols.plasma_chunk_lookup(address, lookupOut);
      return sum;
    },
    SYNC_CALLS,
    RUNS,
  );

  // What a wrapper that converts per call (as RegionAllocator does) pays on top.
  const lookupConvertNs = nsPerOperation(
    (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) {
        sum += symbols.plasma_chunk_lookup(
          BigInt(UNKNOWN_ADDRESS + index),
          lookupOut,
        );
      }
      return sum;
    },
    SYNC_CALLS,
    RUNS,
  );

  // Deno's types only allow bigint for u64; the runtime also takes a number, on a slow path.
  const addressNumber = UNKNOWN_ADDRESS as unknown as bigint;
  const lookupNumberNs = nsPerOperation(
    (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) sum += symbols.plasma_chunk_lookup(addressNumber, lookupOut);
      return sum;
    },
    SLOW_CALLS,
    RUNS,
  );

  // A socket that is already readable: the wait returns at once, so this is the hand-off cost.
  const [writerFd, readerFd] = socketPair();
  using writer = FrameConnection.adopt(writerFd);
  using reader = FrameConnection.adopt(readerFd);
  if (writer.write(1n, 1, new Uint8Array(8), -1) !== Status.ok) throw new Error("could not make the socket readable");
  const waitSyncNs = nsPerOperation(
    (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) sum += symbols.plasma_fd_wait(reader.fd, POLL_IN, 0);
      return sum;
    },
    SLOW_CALLS,
    RUNS,
  );
  const waitAsyncNs = await nsPerOperationAsync(
    async (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) sum += await symbols.plasma_fd_wait_async(reader.fd, POLL_IN, 0);
      if (sum !== 0) throw new Error("plasma_fd_wait on a readable socket should return ok");
      return sum;
    },
    ASYNC_CALLS,
    RUNS,
  );

  const vsJs = (ns: number) => `${(ns / jsNs).toFixed(0)}x a JS call`;
  const vsNoop = (ns: number) => `${(ns / noopNs).toFixed(1)}x plasma_noop`;
  const rows: ResultRow[] = [
    { label: "plain JS function call (V8 may inline it)", value: jsNs, unit: "ns/call", note: "reference" },
    { label: "plasma_noop(u32), sync FFI", value: noopNs, unit: "ns/call", note: vsJs(noopNs) },
    {
      label: "plasma_chunk_lookup(u64 as bigint constant)",
      value: lookupBigintNs,
      unit: "ns/call",
      note: vsNoop(lookupBigintNs),
    },
    {
      label: "plasma_chunk_lookup(BigInt(n) made per call)",
      value: lookupConvertNs,
      unit: "ns/call",
      note: vsNoop(lookupConvertNs),
    },
    {
      label: "plasma_chunk_lookup(u64 as number): slow path",
      value: lookupNumberNs,
      unit: "ns/call",
      note: vsNoop(lookupNumberNs),
    },
    { label: "plasma_fd_wait(readable, 0), sync", value: waitSyncNs, unit: "ns/call", note: vsNoop(waitSyncNs) },
    {
      label: "plasma_fd_wait nonblocking: await round trip",
      value: waitAsyncNs,
      unit: "ns/call",
      note: vsNoop(waitAsyncNs),
    },
  ];
  printTable(`FFI call overhead (median of ${RUNS} runs)`, rows);
}

if (import.meta.main) await main();
