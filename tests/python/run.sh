#!/usr/bin/env bash
# Runs the Python client suite (pytest in <repo>/.venv) against a strata node it starts itself.
# Binary: $STRATA_BIN, else <repo>/target/debug/strata. Extra args go to pytest (e.g. -k codecs).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="$REPO_ROOT/.venv/bin/python"
if [ ! -x "$PY" ]; then
    echo "tests/python: $PY missing; run scripts/setup.sh first" >&2
    exit 1
fi
export STRATA_BIN="${STRATA_BIN:-$REPO_ROOT/target/debug/strata}"
if [ ! -x "$STRATA_BIN" ]; then
    echo "tests/python: strata binary not found at $STRATA_BIN (cargo build --bins, or set STRATA_BIN)" >&2
    exit 1
fi
cd "$REPO_ROOT/tests/python"
exec "$PY" -m pytest -p no:cacheprovider -q -rfE "$@"
