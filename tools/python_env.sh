#!/usr/bin/env bash
# Creates the gitignored virtualenv .venv/ with pyarrow (whose pyarrow.plasma client and
# plasma-store-server we test and benchmark against), numpy, pytest, hypothesis (pyarrow's test
# conftest imports it) and pandas (one of its Plasma tests), at the pinned versions.
# Idempotent: when the pinned versions are installed it only checks them.
# Usage: tools/python_env.sh   (prints the venv's python path on stdout, progress on stderr)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$root/tools/versions.env"
venv="$root/.venv"
python="$venv/bin/python"
stamp="$venv/.pinned-$PYARROW_VERSION-$NUMPY_VERSION-$PYTEST_VERSION-$HYPOTHESIS_VERSION-$PANDAS_VERSION"

if [[ ! -f "$stamp" ]]; then
  echo "python_env: installing pyarrow $PYARROW_VERSION, numpy $NUMPY_VERSION, pytest $PYTEST_VERSION into .venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$python" -m pip install --quiet --disable-pip-version-check \
    "pyarrow==$PYARROW_VERSION" "numpy==$NUMPY_VERSION" "pytest==$PYTEST_VERSION" \
    "hypothesis==$HYPOTHESIS_VERSION" "pandas==$PANDAS_VERSION" >&2
  touch "$stamp"
fi
echo "$python"
