#!/usr/bin/env bash
# Builds the library and the native benchmarks, then runs every benchmark and prints its table.
# Each benchmark reports ratios against a reference measured in the same run (medians of several
# runs), so the numbers compare across machines only as ratios. Takes about two minutes.
# Usage: bash bench/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/_env.sh"
cd "$PLASMA_ROOT"

build_native
build_native bench

echo "plasma benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $(deno --version | head -n1); zig $(zig version)"
# Other processes on this small machine skew everything: show how busy it was when we started.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

deno run -A bench/ffi_overhead.ts
deno run -A bench/allocator_ffi.ts zig-out/bench/allocator_bench
deno run -A bench/pingpong_bench.ts
deno run -A bench/store_bench.ts
deno run -A bench/pressure_bench.ts

echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
