#!/usr/bin/env bash
# The project's test command (README, CI): set-up, debug build of the binaries, rustfmt and
# clippy checks, the Rust workspace tests (unit + strata-tests integration tests driving real
# strata processes with rdkafka), then the Python, kcat and Java client suites against real strata processes, the
# process-level chaos suite (tests/chaos) and the Docker compose cluster test.
# Every stage runs even if an earlier one failed (except set-up and the build, which the rest
# need); the script prints a summary and exits non-zero on any failure.
#
# Environment: STRATA_SKIP="build rust" skips stages by name (setup, build, fmt, clippy, rust,
# python, bench, kcat, java, chaos, compose), e.g. to rerun the client suites against an existing STRATA_BIN.
set -uo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
export CI="${CI:-}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
export STRATA_BIN="${STRATA_BIN:-$TARGET_DIR/debug/strata}"
# Per-stage wall-clock limits (seconds), so a hung server cannot eat CI's budget.
RUST_TIMEOUT_S=1500
SUITE_TIMEOUT_S=900

STAGES=()
RESULTS=()
TIMES=()
record() { STAGES+=("$1"); RESULTS+=("$2"); TIMES+=("$3"); }

stage() { # stage NAME TIMEOUT CMD...
    local name="$1" limit="$2"; shift 2
    if [[ " ${STRATA_SKIP:-} " == *" $name "* ]]; then
        echo "==> $name: skipped (STRATA_SKIP)"; record "$name" skipped 0; return 0
    fi
    echo; echo "==> $name: $*"
    local t0=$SECONDS rc
    timeout --kill-after=10 "$limit" "$@"
    rc=$?
    [ "$rc" -eq 124 ] && echo "==> $name: TIMED OUT after ${limit}s"
    if [ "$rc" -eq 0 ]; then record "$name" passed $((SECONDS - t0)); else record "$name" "FAILED (exit $rc)" $((SECONDS - t0)); fi
    return "$rc"
}

summary() {
    echo; echo "==================== summary ===================="
    local i npass=0 nfail=0
    for i in "${!STAGES[@]}"; do
        printf '  %-8s %-20s %5ss\n' "${STAGES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
        case "${RESULTS[$i]}" in passed) npass=$((npass + 1)) ;; skipped) ;; *) nfail=$((nfail + 1)) ;; esac
    done
    echo "  total ${SECONDS}s"
    echo "stages: $npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}

stage setup 1200 bash scripts/setup.sh || { summary; exit 1; }
# shellcheck disable=SC2031
stage build 1800 cargo build --bins || { summary; exit 1; }
if [ ! -x "$STRATA_BIN" ]; then
    echo "strata binary missing at $STRATA_BIN after the build"; record binary FAILED 0; summary; exit 1
fi

# Formatting and lints (warnings are errors; library and binary code may not unwrap).
stage fmt 120 cargo fmt --all --check
stage clippy 1200 cargo clippy --workspace --all-targets -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
    stage rust "$RUST_TIMEOUT_S" cargo nextest run --workspace --no-fail-fast
else
    stage rust "$RUST_TIMEOUT_S" cargo test --workspace --no-fail-fast
fi
# The benchmark tool must run (a tiny single-node round trip); its figures are never asserted.
stage bench 300 "$TARGET_DIR/debug/strata-bench" --smoke --bin "$STRATA_BIN"
stage python "$SUITE_TIMEOUT_S" bash tests/python/run.sh
stage kcat "$SUITE_TIMEOUT_S" bash tests/kcat/test_kcat.sh
stage java "$SUITE_TIMEOUT_S" bash tests/java/run.sh
stage chaos "$SUITE_TIMEOUT_S" bash tests/chaos/run.sh
stage compose 1800 bash tests/compose/test_compose.sh
summary
