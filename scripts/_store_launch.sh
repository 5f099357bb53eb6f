# Sourced by bin/plasma-store-server and scripts/store.sh: starts the store's Deno process as fast
# as a fresh checkout allows. Invariant: it runs the bundles only when no source is newer than them.
# See docs/startup.md for where a start's milliseconds go.

shopt -s globstar nullglob

# newer_than FILE PATHS...: true when FILE is missing or any of PATHS was modified after it.
newer_than() {
  local reference="$1" path
  shift
  [[ -e "$reference" ]] || return 0
  for path in "$@"; do [[ "$path" -nt "$reference" ]] && return 0; done
  return 1
}

# exec_store ROOT ENTRY ARGS...: ENTRY is store.ts or src/cli/plasma_store_server.ts (relative to
# ROOT); replaces this shell with Deno running it, from its bundle when one can be made.
exec_store() {
  local root="$1" entry="$2"
  shift 2
  # Fast path once set up: the pinned Deno in .tools/ and a native library newer than its sources
  # and the pinned versions. Checking through tools/bootstrap.sh and `zig build` costs ~250 ms per
  # start (a `deno --version` alone ~20 ms), and Arrow's tests start a store per test.
  # Checked with bash builtins only: under load each fork+exec (grep, find) cost 5-60 ms.
  source "$root/tools/versions.env"
  local deno_bin="$root/.tools/deno/node_modules/.bin/deno" lib="$root/zig-out/lib/libplasma.so" package
  mapfile -t package 2>/dev/null <"$root/.tools/deno/node_modules/deno/package.json" || package=()
  if [[ ! -x "$deno_bin" || "${package[*]}" != *"\"version\": \"$DENO_VERSION\""* ]] ||
    newer_than "$lib" "$root"/ffi/zig/**/*.zig "$root/build.zig" "$root/tools/versions.env"; then
    source "$root/scripts/_env.sh" >&2
    build_native >&2
    deno_bin=deno
  fi
  local main="$root/$entry" bundles
  store_bundles "$deno_bin" "$root"
  bundles="$STORE_BUNDLES"
  if [[ -n "$bundles" ]]; then
    main="$bundles/${entry%.ts}.js"
    # The bundled code cannot find files beside its sources: name them.
    export PLASMA_NATIVE_LIB="$lib"
    export PLASMA_STORE_WORKER_BUNDLE="$bundles/src/runner/store_worker.js"
    export PLASMA_SPILL_WORKER_BUNDLE="$bundles/src/store/spill_io/spill_io_worker.js"
  fi
  # No update check: it would look up Deno's download host (DNS) at every start.
  export DENO_NO_UPDATE_CHECK=1
  # A 1 MiB young generation (V8's default grows to 16 MiB per semi-space) keeps the store's RSS
  # per object near its live heap; `gc` lets the store collect its garbage once it is quiet
  # (src/store/idle_heap_trim.ts). Both measured in bench/README.md (arrow_side_by_side).
  exec "$deno_bin" run -A --v8-flags=--max-semi-space-size=1,--expose-gc --config "$root/deno.json" "$main" "$@"
}

# The store's entry points, bundled together (`deno bundle --code-splitting`): the main thread,
# the store's Worker and the spill Worker each load a few files instead of ~25, ~125 and ~10
# modules (~4x faster to boot), and cluster or metrics code stays in chunks loaded on demand.
STORE_BUNDLE_ENTRIES=(store.ts src/cli/plasma_store_server.ts src/runner/store_worker.ts
  src/store/spill_io/spill_io_worker.ts)

# store_bundles DENO ROOT: sets STORE_BUNDLES to the directory of bundles no source is newer than,
# making one if needed; to "" when bundling fails (the store then runs from source).
store_bundles() {
  local deno_bin="$1" root="$2" dir="$2/build/bundles" name=""
  STORE_BUNDLES=""
  [[ -f "$dir/current" ]] && read -r name <"$dir/current"
  if [[ -n "$name" ]] && ! newer_than "$dir/$name/.stamp" "$root"/src/**/*.{ts,json,html} "$root"/ffi/**/*.ts \
    "$root/store.ts" "$root/deno.json" "$root/deno.lock"; then
    STORE_BUNDLES="$dir/$name"
    return
  fi
  mkdir -p "$dir"
  local fresh
  fresh="$(mktemp -d "$dir/b.XXXXXX")"
  touch "$fresh/.stamp" # before bundling: a source edited meanwhile is newer, so bundled again
  local entries=("${STORE_BUNDLE_ENTRIES[@]/#/$root/}")
  # The metrics server reads its dashboard beside its module: its chunk lands in the top directory.
  if (cd "$root" && "$deno_bin" bundle --quiet --code-splitting --config deno.json --outdir "$fresh" "${entries[@]}" >&2) &&
    cp "$root/src/observe/dashboard.html" "$fresh/"; then
    # Each store keeps to the directory it started from (it loads chunks on demand): the name of
    # the current one is swapped atomically; directories a day old are removed.
    echo "${fresh##*/}" >"$dir/current.$$" && mv -f "$dir/current.$$" "$dir/current"
    find "$dir" -mindepth 1 -maxdepth 1 -name 'b.*' -mmin +1440 ! -name "${fresh##*/}" -exec rm -rf {} +
    STORE_BUNDLES="$fresh"
  else
    rm -rf "$fresh"
  fi
}
