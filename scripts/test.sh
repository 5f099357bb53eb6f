#!/usr/bin/env bash
# Runs every test (Zig unit tests, then Deno tests) and ends with one line `N passed, M failed`.
# Extra arguments go to `deno test` (e.g. a file or --filter).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$PLASMA_ROOT"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

build_native
build_native test

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
if [ "$#" -eq 0 ]; then set -- tests/ ffi/ src/; fi
NO_COLOR=1 deno test -A --parallel "$@" 2>&1 | tee "$logs/deno.txt" || deno_status=$?
deno_passed=0; deno_failed=0
if line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$logs/deno.txt" | tail -n1); then
  deno_passed=$(echo "$line" | sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed.*/\1/')
  deno_failed=$(echo "$line" | sed -E 's/.*\| ([0-9]+) failed.*/\1/')
fi
if [ "$deno_status" -ne 0 ] && [ "$deno_failed" -eq 0 ]; then deno_failed=1; fi

echo "zig: $zig_passed passed, $zig_failed failed; deno: $deno_passed passed, $deno_failed failed"
echo "$((zig_passed + deno_passed)) passed, $((zig_failed + deno_failed)) failed"
[ "$zig_failed" -eq 0 ] && [ "$deno_failed" -eq 0 ]
