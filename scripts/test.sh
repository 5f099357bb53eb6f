#!/usr/bin/env bash
# Runs every test (Zig unit tests, Deno tests, then pyarrow 11's own Plasma tests and Arrow 11's
# C++ Plasma tests against our store) and ends with one line `N passed, M failed`.
# Extra arguments go to `deno test` (e.g. a file or --filter) and skip pyarrow's and Arrow's suites.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$PLASMA_ROOT"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

build_native
build_native test
# The pyarrow virtualenv: the Arrow-dialect tests run pyarrow clients and pyarrow's own suite.
python="$(bash tools/python_env.sh)"
# promtool and Chromium for the metrics and dashboard tests (Debian packages; a no-op when present).
bash tools/observability_deps.sh || echo "test.sh: promtool/chromium missing: the metrics and dashboard tests will fail" >&2
bash tools/install_redis.sh >/dev/null || echo "test.sh: redis-server missing: the cluster tests will fail" >&2

# The Zig test runner prints "All N tests passed." or "N passed; M skipped; K failed."
zig_status=0
./zig-out/test/plasma-zig-tests 2>&1 | tee "$logs/zig.txt" || zig_status=$?
zig_passed=0; zig_failed=0
if line=$(grep -E '^All [0-9]+ tests passed' "$logs/zig.txt"); then
  zig_passed=$(echo "$line" | grep -oE '[0-9]+' | head -n1)
elif line=$(grep -E '^[0-9]+ passed; [0-9]+ skipped; [0-9]+ failed' "$logs/zig.txt"); then
  read -r zig_passed zig_skipped zig_failed <<<"$(echo "$line" | grep -oE '[0-9]+' | tr '\n' ' ')"
fi
if [ "$zig_status" -ne 0 ] && [ "$zig_failed" -eq 0 ]; then zig_failed=1; fi

# Deno prints "ok | N passed (S steps) | M failed" (or FAILED | ...) as its summary.
deno_status=0
run_pyarrow=0
if [ "$#" -eq 0 ]; then set -- tests/ ffi/ src/; run_pyarrow=1; fi
NO_COLOR=1 deno test -A --parallel "$@" 2>&1 | tee "$logs/deno.txt" || deno_status=$?
deno_passed=0; deno_failed=0
if line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$logs/deno.txt" | tail -n1); then
  deno_passed=$(echo "$line" | sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed.*/\1/')
  deno_failed=$(echo "$line" | sed -E 's/.*\| ([0-9]+) failed.*/\1/')
fi
if [ "$deno_status" -ne 0 ] && [ "$deno_failed" -eq 0 ]; then deno_failed=1; fi

# pyarrow's test_plasma with start_plasma_store redirected to bin/plasma-store-server (its
# hashtable:// external store becomes our spilling). pytest prints "N passed, ... M failed/errors".
py_passed=0; py_failed=0
if [ "$run_pyarrow" -eq 1 ]; then
  py_status=0
  PYTHONPATH=tests/python "$python" -m pytest -p plasma_store_redirect -p no:cacheprovider \
    --pyargs pyarrow.tests.test_plasma -q -rs \
    -W ignore::DeprecationWarning 2>&1 | tee "$logs/pyarrow.txt" || py_status=$?
  summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$logs/pyarrow.txt" | tail -n1)"
  py_passed=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
  py_failed=$(( $(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0) \
    + $(echo "$summary" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || echo 0) ))
  if [ "$py_status" -ne 0 ] && [ "$py_failed" -eq 0 ]; then py_failed=1; fi
fi

# Arrow 11's C++ client and external-store tests (third_party/arrow_plasma_tests), one line each,
# then "arrow-cpp: N passed, M failed".
cpp_passed=0; cpp_failed=0
if [ "$run_pyarrow" -eq 1 ]; then
  bash scripts/arrow_cpp_tests.sh "$python" 2>&1 | tee "$logs/arrow_cpp.txt" || true
  if line=$(grep -E '^arrow-cpp: [0-9]+ passed, [0-9]+ failed' "$logs/arrow_cpp.txt"); then
    read -r cpp_passed cpp_failed <<<"$(echo "$line" | grep -oE '[0-9]+' | tr '\n' ' ')"
  else
    cpp_failed=1
  fi
fi

echo "zig: $zig_passed passed, $zig_failed failed; deno: $deno_passed passed, $deno_failed failed;" \
  "pyarrow: $py_passed passed, $py_failed failed; arrow-cpp: $cpp_passed passed, $cpp_failed failed"
echo "$((zig_passed + deno_passed + py_passed + cpp_passed)) passed," \
  "$((zig_failed + deno_failed + py_failed + cpp_failed)) failed"
[ "$zig_failed" -eq 0 ] && [ "$deno_failed" -eq 0 ] && [ "$py_failed" -eq 0 ] && [ "$cpp_failed" -eq 0 ]
