#!/usr/bin/env bash
# Runs Arrow 11's C++ Plasma tests (client_tests, external_store_tests) against our
# bin/plasma-store-server and ends with one line `arrow-cpp: N passed, M failed`.
# Each test runs alone in its own process group and temporary directory: Arrow's tests abort the
# whole binary on a failed ARROW_CHECK_OK and start the store in the background, so the group is
# killed afterwards (no store outlives its test) and one failure does not hide the others' results.
# Usage: scripts/arrow_cpp_tests.sh PYTHON [GTEST_FILTER]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="$1"
filter="${2:-*}"
out="$(bash "$root/tools/build_arrow_cpp_tests.sh" "$python")"
# The first start after a source change bundles the store's Worker (seconds on a loaded machine);
# done here, not inside the first test, whose client gives up connecting after 5 s.
"$root/bin/plasma-store-server" --help >/dev/null
passed=0; failed=0

# run_one BINARY TEST: runs one gtest test; returns its exit status.
run_one() {
  local binary="$1" test="$2" status=0 tmp
  tmp="$(mktemp -d)"
  # exec in a background subshell: setsid keeps the pid, which thus names the process group.
  (TMPDIR="$tmp" exec setsid "$out/$binary" --gtest_filter="$test" >"$tmp/log" 2>&1) &
  local pid=$!
  wait "$pid" 2>/dev/null || status=$? # an aborted test is reported below, not as a job message
  kill -KILL -- "-$pid" 2>/dev/null || true
  if [[ "$status" -ne 0 ]] || ! grep -q '^\[  PASSED  \] 1 test' "$tmp/log"; then
    grep -v 'retrying' "$tmp/log" | tail -n 40 >&2
    status=1
  fi
  rm -rf "$tmp"
  return "$status"
}

for binary in client_tests external_store_tests; do
  # --gtest_list_tests prints "Suite." lines followed by indented test names.
  suite=""
  while IFS= read -r line; do
    if [[ "$line" != " "* ]]; then suite="$line"; continue; fi
    test="$suite${line#  }"
    if run_one "$binary" "$test"; then
      echo "arrow-cpp: ok     $binary $test"; passed=$((passed + 1))
    else
      echo "arrow-cpp: FAILED $binary $test"; failed=$((failed + 1))
    fi
  done < <("$out/$binary" --gtest_list_tests --gtest_filter="$filter")
done
echo "arrow-cpp: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
