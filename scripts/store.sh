#!/usr/bin/env bash
# Starts the store: installs the toolchain and builds the native library when needed.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/_store_launch.sh"
exec_store "$root" store.ts "$@"
