#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing (the cluster tests and scripts start their own
# Redis on a free loopback port; nothing here starts a system service). Prints the binary's path.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  echo "install_redis: installing Debian's redis-server" >&2
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends redis-server >&2
  # The package starts a system Redis on 6379 where an init system runs; the project never uses it.
fi
command -v redis-server
