/**
 * Allocator throughput from TypeScript against the native loop measured in the same run
 * (zig-out/bench/allocator_bench, built by `zig build bench`): alloc+free pairs per second through
 * RegionAllocator (which converts each size and offset to and from bigint) and through the raw
 * symbols with the u64 arguments as bigint and as number. Medians of several runs.
 * Usage: deno run -A bench/allocator_ffi.ts [path/to/allocator_bench]
 * @module
 */
import { handleFrom } from "../ffi/_buffers.ts";
import { native } from "../ffi/library.ts";
import { RegionAllocator } from "../ffi/region_allocator.ts";
import { unwrap } from "../ffi/status.ts";
import { median, nsPerOperation, printTable } from "./_measure.ts";

// The same shape as bench/allocator_bench.zig, so the rows compare like with like.
const CAPACITY_BYTES = 256 << 20;
const BLOCKS_MAX = 1 << 16;
const LIVE_BLOCKS = 1000;
const RANDOM_BYTES_MAX = 256 << 10;
const SAME_SIZE_BYTES = 4096;
const PAIRS = 500_000;
const SCRIPT_LENGTH = 1 << 16;
const RUNS = 5;
const NATIVE_RUNS = 3;

/** A small seeded PRNG (xorshift32), so every run replays the same script. */
function xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

/** Runs the native benchmark NATIVE_RUNS times; returns median pairs/s for churn and same size. */
async function nativeRates(binary: string): Promise<{ churn: number; sameSize: number } | null> {
  const churn: number[] = [];
  const sameSize: number[] = [];
  for (let run = 0; run < NATIVE_RUNS; run++) {
    let output;
    try {
      output = await new Deno.Command(binary, { stdout: "piped", stderr: "inherit" }).output();
    } catch {
      return null;
    }
    const text = new TextDecoder().decode(output.stdout);
    const churnMatch = text.match(/churn[^:]*: ([\d.]+)M/);
    const sameMatch = text.match(/same size[^:]*: ([\d.]+)M/);
    if (!output.success || !churnMatch || !sameMatch) throw new Error(`Unexpected output from ${binary}:\n${text}`);
    churn.push(Number(churnMatch[1]) * 1e6);
    sameSize.push(Number(sameMatch[1]) * 1e6);
  }
  return { churn: median(churn), sameSize: median(sameSize) };
}

async function main(binary: string): Promise<void> {
  const symbols = native();
  const allocator = new RegionAllocator(CAPACITY_BYTES, BLOCKS_MAX);

  const wrapperSameNs = nsPerOperation(
    (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) {
        const offset = allocator.alloc(SAME_SIZE_BYTES)!;
        allocator.free(offset);
        sum += offset;
      }
      return sum;
    },
    PAIRS,
    RUNS,
  );

  const random = xorshift32(12345);
  const victims = Uint32Array.from({ length: SCRIPT_LENGTH }, () => random() % LIVE_BLOCKS);
  const sizes = Float64Array.from({ length: SCRIPT_LENGTH }, () => 1 + (random() % RANDOM_BYTES_MAX));
  const live = Array.from({ length: LIVE_BLOCKS }, (_, index) => allocator.alloc(sizes[index])!);
  const wrapperChurnNs = nsPerOperation(
    (count) => {
      for (let index = 0; index < count; index++) {
        const slot = index % SCRIPT_LENGTH;
        allocator.free(live[victims[slot]]);
        live[victims[slot]] = allocator.alloc(sizes[slot])!;
      }
      return live[0];
    },
    PAIRS,
    RUNS,
  );
  for (const offset of live) allocator.free(offset);
  allocator.close();

  // The raw symbols: no wrapper, no unwrap; the offset comes back through a BigUint64Array.
  const slot = new BigUint64Array(1);
  unwrap(symbols.plasma_allocator_create(BigInt(CAPACITY_BYTES), BLOCKS_MAX, slot), "Creating an allocator");
  const handle = handleFrom(slot);
  const offsetOut = new BigUint64Array(1);
  const sameSizeBig = BigInt(SAME_SIZE_BYTES);
  const rawBigintNs = nsPerOperation(
    (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) {
        sum += symbols.plasma_allocator_alloc(handle, sameSizeBig, offsetOut);
        sum += symbols.plasma_allocator_free(handle, offsetOut[0]);
      }
      return sum;
    },
    PAIRS,
    RUNS,
  );
  const offsetOutNumber = new Float64Array(1);
  const offsetView = new BigUint64Array(offsetOutNumber.buffer);
  // Deno's types only allow bigint for u64; the runtime also takes a number, on a slow path.
  const asU64 = (value: number) => value as unknown as bigint;
  const rawNumberNs = nsPerOperation(
    (count) => {
      let sum = 0;
      for (let index = 0; index < count; index++) {
        sum += symbols.plasma_allocator_alloc(handle, asU64(SAME_SIZE_BYTES), offsetView);
        sum += symbols.plasma_allocator_free(handle, asU64(Number(offsetView[0])));
      }
      return sum;
    },
    PAIRS / 5,
    RUNS,
  );
  symbols.plasma_allocator_destroy(handle);

  const nativeRate = await nativeRates(binary);
  const perSecond = (ns: number) => 1e9 / ns;
  const vs = (rate: number, reference: number | undefined) =>
    reference === undefined ? "" : `${(rate / reference).toFixed(2)}x native`;
  printTable(`Allocator alloc+free pairs (median of ${RUNS} runs; native: median of ${NATIVE_RUNS})`, [
    ...(nativeRate === null ? [] : [
      {
        label: "native Zig loop, same size 4096 B",
        value: nativeRate.sameSize / 1e6,
        unit: "M pairs/s",
        note: "reference",
      },
      {
        label: "native Zig loop, churn 1000 live",
        value: nativeRate.churn / 1e6,
        unit: "M pairs/s",
        note: "reference",
      },
    ]),
    {
      label: "TS raw symbols, u64 as bigint, same size",
      value: perSecond(rawBigintNs) / 1e6,
      unit: "M pairs/s",
      note: vs(perSecond(rawBigintNs), nativeRate?.sameSize),
    },
    {
      label: "TS raw symbols, u64 as number, same size",
      value: perSecond(rawNumberNs) / 1e6,
      unit: "M pairs/s",
      note: vs(perSecond(rawNumberNs), nativeRate?.sameSize),
    },
    {
      label: "TS RegionAllocator, same size 4096 B",
      value: perSecond(wrapperSameNs) / 1e6,
      unit: "M pairs/s",
      note: vs(perSecond(wrapperSameNs), nativeRate?.sameSize),
    },
    {
      label: "TS RegionAllocator, churn 1000 live",
      value: perSecond(wrapperChurnNs) / 1e6,
      unit: "M pairs/s",
      note: vs(perSecond(wrapperChurnNs), nativeRate?.churn),
    },
  ]);
  if (nativeRate === null) console.log(`  (native rows skipped: ${binary} not found; run \`zig build bench\`)`);
}

if (import.meta.main) {
  const binary = Deno.args[0] ??
    decodeURIComponent(new URL("../zig-out/bench/allocator_bench", import.meta.url).pathname);
  await main(binary);
}
