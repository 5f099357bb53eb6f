#!/usr/bin/env bash
# The same pyarrow workload against Arrow's plasma-store-server and ours, side by side (see
# bench/arrow_side_by_side.py). Makes the virtualenv and the native library first. Takes ~2 min.
# Usage: bash bench/arrow_side_by_side.sh [--rounds N]
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/_env.sh"
cd "$PLASMA_ROOT"
build_native
python="$(bash tools/python_env.sh)"
echo "arrow side by side, $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$python" bench/arrow_side_by_side.py "$@"
