#!/usr/bin/env bash
# Runs the process-level chaos suite (tests/chaos/chaos.py): a three-node strata cluster under
# kill -9 / SIGSTOP / restarts while idempotent acks=all producers write, then a read-back that
# checks no acknowledged write was lost. Exits 1 on any anomaly, 2 if the harness could not run.
#
# Binary: $STRATA_BIN, else <repo>/target/debug/strata. Python: $STRATA_VENV/bin/python, else
# <repo>/.venv/bin/python (scripts/setup.sh creates it). Knobs (see chaos.py --help):
#   STRATA_CHAOS_SEED, STRATA_CHAOS_ROUNDS, STRATA_CHAOS_FAULTS, STRATA_CHAOS_RF,
#   STRATA_CHAOS_RATE, STRATA_CHAOS_PRODUCERS, STRATA_CHAOS_BUDGET_S, STRATA_KEEP_DATA=1
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${STRATA_VENV:-$REPO_ROOT/.venv}/bin/python"
if [ ! -x "$PY" ]; then
    echo "tests/chaos: $PY missing; run scripts/setup.sh first" >&2
    exit 2
fi
if ! "$PY" -c 'import confluent_kafka' 2>/dev/null; then
    echo "tests/chaos: confluent_kafka not importable by $PY; run scripts/setup.sh" >&2
    exit 2
fi
# chaos.py waits (a while) for a binary that is missing because it is being rebuilt.
export STRATA_BIN="${STRATA_BIN:-$REPO_ROOT/target/debug/strata}"
exec "$PY" -u "$REPO_ROOT/tests/chaos/chaos.py" "$@"
