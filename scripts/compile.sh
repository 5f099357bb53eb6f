#!/usr/bin/env bash
# Packages the store as one binary (zig-out/plasma-store) with `deno compile`, the native library
# embedded. deno compile needs a `denort` runtime, which it downloads by default; these machines
# cannot download it, so set DENORT_BIN to a denort binary of the same Deno version.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$PLASMA_ROOT"
build_native
if [ -z "${DENORT_BIN:-}" ]; then
  echo "compile: deno compile needs the denort runtime for deno $(deno --version | head -n1 | cut -d' ' -f2)," >&2
  echo "compile: which cannot be downloaded here. Set DENORT_BIN=/path/to/denort and run again." >&2
  exit 1
fi
if [ ! -x "$DENORT_BIN" ]; then
  echo "compile: DENORT_BIN=$DENORT_BIN is not an executable file" >&2
  exit 1
fi
DENORT_BIN="$DENORT_BIN" deno compile -A \
  --include zig-out/lib/libplasma.so \
  --include src/runner/store_worker.ts \
  --output zig-out/plasma-store store.ts
echo "compile: wrote zig-out/plasma-store (run it with PLASMA_NATIVE_LIB unset: the library is embedded)"
