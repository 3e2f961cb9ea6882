#!/usr/bin/env bash
# kcat suite: Debian's kcat (librdkafka 2.0.2, an old client) against one real strata node.
# Covers metadata (-L), produce (-P, keys with -K:, headers with -H, explicit partition),
# consume (-C -e, offsets, counts, format strings) and the four compression codecs.
# Binary: $STRATA_BIN, else <repo>/target/debug/strata. Prints "N passed, M failed".
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/strata_node.sh
source "$HERE/../lib/strata_node.sh"

command -v kcat >/dev/null || { echo "kcat not installed; run scripts/setup.sh" >&2; exit 1; }
# Hard limit for each kcat call so a broken server cannot hang the suite.
KCAT_TIMEOUT_S=30

PASSED=0
FAILED=0
FAILED_NAMES=()
trap strata_stop EXIT
trap "exit 143" TERM INT
strata_start || exit 1
BS="$STRATA_BOOTSTRAP"
echo "kcat suite: $(kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*'), node at $BS"

kc() { timeout "$KCAT_TIMEOUT_S" kcat -b "$BS" -X socket.timeout.ms=10000 "$@"; }

pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() {
    FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1")
    echo "FAIL - $1"; shift
    printf '       %s\n' "$@"
}
# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
    if [ "$2" == "$3" ]; then pass "$1"; else
        fail "$1" "expected:" "$(printf '%s' "$2" | head -20 | cat -A)" "got:" "$(printf '%s' "$3" | head -20 | cat -A)"
    fi
}

t_metadata() {
    local out
    out="$(kc -L 2>&1)"
    if grep -q "1 brokers:" <<<"$out" && grep -q "broker 1 at 127.0.0.1:$STRATA_PORT" <<<"$out"; then
        pass "kcat -L lists broker 1 at $BS"
    else
        fail "kcat -L lists broker 1 at $BS" "$out"
    fi
}

t_keys_auto_create() {
    local topic="kcat-keys-$RANDOM"
    printf 'k1:v1\nk2:v2\nk1:v3\n:no-key-empty\n' | kc -P -t "$topic" -K: || { fail "produce with -K: to $topic" "kcat exited $?"; return; }
    local md
    md="$(kc -L -t "$topic" 2>&1)"
    if grep -q "topic \"$topic\" with 1 partitions" <<<"$md"; then
        pass "auto-created topic has num.partitions=1"
    else
        fail "auto-created topic has num.partitions=1" "$md"
    fi
    local out
    out="$(kc -C -t "$topic" -o beginning -e -q -f '%k=%s@%o\n')"
    expect_eq "consume keys and values with -f" $'k1=v1@0\nk2=v2@1\nk1=v3@2\n=no-key-empty@3' "$out"
}

t_headers_and_partitions() {
    local topic="kcat-hdr-$RANDOM"
    # Explicit creation through the first produce on partition 0.
    printf 'a\nb\n' | kc -P -t "$topic" -p 0 -H "h1=v1" -H "h2=v2" || { fail "produce with -H" "kcat exited $?"; return; }
    local out
    out="$(kc -C -t "$topic" -p 0 -o beginning -e -q -f '%s|%h|%p\n')"
    expect_eq "headers round trip" $'a|h1=v1,h2=v2|0\nb|h1=v1,h2=v2|0' "$out"
}

t_offsets_and_counts() {
    local topic="kcat-off-$RANDOM"
    seq 1 50 | kc -P -t "$topic" -p 0 || { fail "produce 50 lines" "kcat exited $?"; return; }
    expect_eq "consume from offset 45" "$(seq 46 50)" "$(kc -C -t "$topic" -p 0 -o 45 -e -q)"
    expect_eq "consume -c 5 from the beginning" "$(seq 1 5)" "$(kc -C -t "$topic" -p 0 -o beginning -c 5 -q)"
    expect_eq "consume last 3 (-o -3)" "$(seq 48 50)" "$(kc -C -t "$topic" -p 0 -o -3 -e -q)"
}

t_codec() {
    local codec="$1" topic="kcat-$1-$RANDOM"
    local input
    input="$(for i in $(seq 1 200); do echo "$codec line $i $(printf 'x%.0s' $(seq 1 40))"; done)"
    printf '%s\n' "$input" | kc -P -t "$topic" -p 0 -X "compression.codec=$codec" -X linger.ms=50 \
        || { fail "produce with compression.codec=$codec" "kcat exited $?"; return; }
    expect_eq "compression.codec=$codec round trip" "$input" "$(kc -C -t "$topic" -p 0 -o beginning -e -q)"
}

t_metadata
t_keys_auto_create
t_headers_and_partitions
t_offsets_and_counts
for c in gzip snappy lz4 zstd; do t_codec "$c"; done

if ! kill -0 "$STRATA_PID" 2>/dev/null; then
    fail "strata still running after the kcat suite" "$(strata_log_tail 30)"
fi
if [ "$FAILED" -gt 0 ]; then
    echo "---- last strata output ----"; strata_log_tail 30
    echo "failed: ${FAILED_NAMES[*]}"
fi
echo "kcat: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
