#!/usr/bin/env bash
# Starts the store: installs the toolchain and builds the native library when needed.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
build_native
exec deno run -A --config "$PLASMA_ROOT/deno.json" "$PLASMA_ROOT/store.ts" "$@"
