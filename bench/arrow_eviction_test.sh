#!/usr/bin/env bash
# Arrow 11's external-store EvictionTest (third_party/arrow_plasma_tests) against Arrow's own
# plasma-store-server and against ours, rounds alternating; prints each round, the medians of the
# test's own time (gtest's, which includes starting the store) and the ratio ours / Arrow's.
# Usage: bash bench/arrow_eviction_test.sh [ROUNDS]   (default 7)
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/_env.sh"
cd "$PLASMA_ROOT"
rounds="${1:-7}"
build_native
python="$(bash tools/python_env.sh)"
tests="$(bash tools/build_arrow_cpp_tests.sh "$python")"
pyarrow_dir="$("$python" -c 'import os, pyarrow; print(os.path.dirname(pyarrow.__file__))')"
# The test starts the plasma-store-server beside its own binary: one directory per server.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/arrow" "$work/ours"
ln -s "$tests/external_store_tests" "$work/arrow/external_store_tests"
ln -s "$pyarrow_dir/plasma-store-server" "$work/arrow/plasma-store-server"
ln -s "$tests/external_store_tests" "$work/ours/external_store_tests"
ln -s "$PLASMA_ROOT/bin/plasma-store-server" "$work/ours/plasma-store-server"

# run_once SERVER: the EvictionTest's milliseconds as gtest reports them.
run_once() {
  local tmp status=0
  tmp="$(mktemp -d "$work/run.XXXXXX")"
  (TMPDIR="$tmp" exec setsid "$work/$1/external_store_tests" --gtest_filter='*EvictionTest' >"$tmp/log" 2>&1) &
  local pid=$!
  wait "$pid" 2>/dev/null || status=$?
  kill -KILL -- "-$pid" 2>/dev/null || true
  [[ "$status" -eq 0 ]] || { cat "$tmp/log" >&2; exit 1; }
  grep -oE 'EvictionTest \([0-9]+ ms\)' "$tmp/log" | grep -oE '[0-9]+'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "EvictionTest, $rounds rounds alternating; load average $(cut -d' ' -f1-3 /proc/loadavg)"
arrow_ms=(); ours_ms=()
for ((round = 0; round < rounds; round++)); do
  arrow_ms+=("$(run_once arrow)")
  ours_ms+=("$(run_once ours)")
  echo "  round $((round + 1)): Arrow's store ${arrow_ms[-1]} ms, ours ${ours_ms[-1]} ms"
done
arrow="$(printf '%s\n' "${arrow_ms[@]}" | median)"
ours="$(printf '%s\n' "${ours_ms[@]}" | median)"
echo "median: Arrow's store $arrow ms, ours $ours ms, ours/Arrow $(awk -v a="$arrow" -v o="$ours" 'BEGIN { printf "%.2f", o / a }')x"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
