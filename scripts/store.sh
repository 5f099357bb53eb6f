#!/usr/bin/env bash
# Starts the store: installs the toolchain and builds the native library when needed.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
build_native
# See bin/plasma-store-server for the young-generation size.
exec deno run -A --v8-flags=--max-semi-space-size=1 --config "$PLASMA_ROOT/deno.json" "$PLASMA_ROOT/store.ts" "$@"
