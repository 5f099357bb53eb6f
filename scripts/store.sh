#!/usr/bin/env bash
# Starts the store: installs the toolchain and builds the native library when needed.
self="$(readlink -f "${BASH_SOURCE[0]}")"
root="${self%/scripts/*}"
source "$root/scripts/_store_launch.sh"
exec_store "$root" store.ts "$@"
