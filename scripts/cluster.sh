#!/usr/bin/env bash
# A local cluster on one machine to try things out: one Redis (the directory) and N stores in
# cluster mode, on loopback ports, sharing a generated secret.
#   scripts/cluster.sh start [N] [SIZE]   # default 3 nodes of 256MiB; prints each node's socket
#   scripts/cluster.sh stop               # stops exactly the processes `start` recorded
# State (pids, logs, sockets, secret) lives in $PLASMA_CLUSTER_DIR (default /tmp/plasma-cluster);
# ports start at $PLASMA_CLUSTER_PORT (default 17000: Redis; 17001.. the nodes).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
dir="${PLASMA_CLUSTER_DIR:-/tmp/plasma-cluster}"
base_port="${PLASMA_CLUSTER_PORT:-17000}"

start() {
  local count="${1:-3}" size="${2:-256MiB}"
  if [ -e "$dir/redis.pid" ]; then echo "cluster: already running (scripts/cluster.sh stop first)" >&2; exit 1; fi
  bash "$PLASMA_ROOT/tools/install_redis.sh" >/dev/null
  mkdir -p "$dir"
  (umask 077 && head -c 32 /dev/urandom | base64 > "$dir/secret")
  redis-server --port "$base_port" --bind 127.0.0.1 --save "" --appendonly no >"$dir/redis.log" 2>&1 &
  echo "$!" > "$dir/redis.pid"
  for _ in $(seq 50); do redis-cli -p "$base_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  for index in $(seq "$count"); do
    local port=$((base_port + index))
    deno run -A "$PLASMA_ROOT/store.ts" --socket "$dir/node$index.sock" --memory "$size" \
      --cluster "redis://127.0.0.1:$base_port" --node-address "127.0.0.1:$port" --node-id "node$index" \
      --cluster-secret-file "$dir/secret" >"$dir/node$index.log" 2>&1 &
    echo "$!" >> "$dir/pids"
  done
  for index in $(seq "$count"); do
    for _ in $(seq 200); do grep -q "listening on" "$dir/node$index.log" 2>/dev/null && break; sleep 0.1; done
    grep -q "listening on" "$dir/node$index.log" || { echo "cluster: node$index did not start:" >&2; cat "$dir/node$index.log" >&2; stop; exit 1; }
    echo "node$index: socket $dir/node$index.sock, peers at 127.0.0.1:$((base_port + index))"
  done
  echo "directory: redis://127.0.0.1:$base_port; logs in $dir; stop with: scripts/cluster.sh stop"
}

# Sends SIGTERM to the pids in FILE and waits up to 10 s for each, then SIGKILLs it.
stop_pids() {
  [ -e "$1" ] || return 0
  while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$1"
  while read -r pid; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done < "$1"
}

stop() {
  [ -e "$dir/redis.pid" ] || { echo "cluster: not running" >&2; return 0; }
  stop_pids "$dir/pids" # stores first: they withdraw their locations
  stop_pids "$dir/redis.pid"
  rm -rf "$dir"
  echo "cluster: stopped"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  *) echo "usage: scripts/cluster.sh start [N] [SIZE] | stop" >&2; exit 2 ;;
esac
