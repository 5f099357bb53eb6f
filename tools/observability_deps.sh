#!/usr/bin/env bash
# Installs what the observability tests need from Debian: promtool (package `prometheus`) to check
# the /metrics text and Chromium to load the dashboard headless. Idempotent: a no-op when both exist.
# Usage: tools/observability_deps.sh   (progress on stderr; exit 0 when both tools are usable)
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "observability_deps: need root to apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "observability_deps: installing ${missing[*]} (apt-get)" >&2
# Other processes may hold apt's lock for a while: wait for it instead of failing.
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
