# Sourced by the scripts: installs the pinned toolchain if needed, puts it on PATH and builds the
# native library (zig build is incremental: a no-op when no source changed).
set -euo pipefail
PLASMA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval "$(bash "$PLASMA_ROOT/tools/bootstrap.sh")"
build_native() {
  (cd "$PLASMA_ROOT" && zig build "$@")
}
