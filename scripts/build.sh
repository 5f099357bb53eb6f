#!/usr/bin/env bash
# Builds the native library into zig-out/lib (and the Zig tests with `scripts/build.sh test`).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
build_native "$@"
