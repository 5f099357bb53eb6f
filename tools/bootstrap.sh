#!/usr/bin/env bash
# Installs the pinned Deno and Zig into .tools/ unless the pinned versions are already on PATH,
# then prints the PATH to use. Idempotent: a second run only checks two version strings.
# Usage: eval "$(tools/bootstrap.sh)"   (prints `export PATH=...` on stdout, progress on stderr)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$root/tools/versions.env"
tools="$root/.tools"
path_prefix=""

have_version() { # command, expected version, version-printing args...
  local cmd="$1" want="$2"; shift 2
  command -v "$cmd" >/dev/null 2>&1 && "$cmd" "$@" 2>/dev/null | head -n1 | grep -qF "$want"
}

ensure_deno() {
  local bin="$tools/deno/node_modules/.bin"
  if have_version deno "deno $DENO_VERSION" --version; then return; fi
  if ! PATH="$bin:$PATH" have_version deno "deno $DENO_VERSION" --version; then
    echo "bootstrap: installing deno $DENO_VERSION into .tools/deno" >&2
    npm install --silent --no-audit --no-fund --prefix "$tools/deno" "deno@$DENO_VERSION" >&2
  fi
  path_prefix="$bin:$path_prefix"
}

ensure_zig() {
  local bin="$tools/zig/bin"
  if have_version zig "$ZIG_VERSION" version; then return; fi
  if ! PATH="$bin:$PATH" have_version zig "$ZIG_VERSION" version; then
    echo "bootstrap: installing zig $ZIG_VERSION into .tools/zig" >&2
    rm -rf "$tools/zig"
    python3 -m pip install --quiet --disable-pip-version-check --target "$tools/zig/pkg" \
      "ziglang==$ZIG_VERSION" >&2
    mkdir -p "$bin"
    ln -sf "$tools/zig/pkg/ziglang/zig" "$bin/zig"
  fi
  path_prefix="$bin:$path_prefix"
}

ensure_deno
ensure_zig
echo "export PATH=\"${path_prefix}\$PATH\""
