/**
 * What the spill checksum costs: XXH3 over an object vs writing it to a spill file (and fsync),
 * measured in the same run. `deno run -A bench/spill_checksum_bench.ts [DIRECTORY]`
 */
import { hash64 } from "../ffi/checksum.ts";

const MIB = 1024 * 1024;
const OBJECT_BYTES = 64 * MIB;
const ROUNDS = 5;

function median(values: number[]): number {
  return values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
}

const directory = Deno.args[0] ?? "/tmp";
const bytes = new Uint8Array(OBJECT_BYTES).map((_, index) => index & 0xff);
const hashMs: number[] = [];
const writeMs: number[] = [];
const cachedMs: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  let started = performance.now();
  hash64(bytes);
  hashMs.push(performance.now() - started);
  const path = `${directory}/plasma-checksum-bench-${crypto.randomUUID()}.bin`;
  started = performance.now();
  using file = Deno.openSync(path, { write: true, createNew: true });
  for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
  cachedMs.push(performance.now() - started);
  file.syncSync();
  writeMs.push(performance.now() - started);
  Deno.removeSync(path);
}
const gbps = (ms: number) => (OBJECT_BYTES / 1e9 / (ms / 1000)).toFixed(2);
console.log(
  `64 MiB object, median of ${ROUNDS}: xxh3 ${median(hashMs).toFixed(2)} ms (${gbps(median(hashMs))} GB/s), ` +
    `write+fsync to ${directory} ${median(writeMs).toFixed(1)} ms (${gbps(median(writeMs))} GB/s); ` +
    `checksum adds ${(100 * median(hashMs) / median(writeMs)).toFixed(1)}% to the write; ` +
    `to the write into the page cache alone (${median(cachedMs).toFixed(1)} ms, what the spill worker waits for) ` +
    `${(100 * median(hashMs) / median(cachedMs)).toFixed(1)}%`,
);
