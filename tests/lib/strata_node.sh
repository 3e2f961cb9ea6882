# Sourced by the shell-driven suites (kcat, Java): start and stop one strata node.
#
#   strata_start            # sets STRATA_BOOTSTRAP, STRATA_PORT, STRATA_PID, STRATA_ROOT
#   strata_stop             # kills it and removes its temp dir (kept with STRATA_KEEP_DATA=1)
#
# Binary: $STRATA_BIN, else <repo>/target/debug/strata. The node's stdout+stderr go to
# $STRATA_ROOT/strata.log; it is ready once a line containing " started (cluster " appeared and the port
# accepts connections.

STRATA_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STRATA_BIN="${STRATA_BIN:-$STRATA_REPO_ROOT/target/debug/strata}"
# Seconds a debug build may take to become ready.
STRATA_STARTUP_TIMEOUT_S="${STRATA_STARTUP_TIMEOUT_S:-30}"

strata_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

strata_start() {
    if [ ! -x "$STRATA_BIN" ]; then
        echo "strata binary not found at $STRATA_BIN (cargo build --bins, or set STRATA_BIN)" >&2
        return 1
    fi
    STRATA_ROOT="$(mktemp -d /tmp/strata-sh-XXXXXX)"
    mkdir -p "$STRATA_ROOT/data"
    STRATA_PORT="$(strata_free_port)"
    STRATA_BOOTSTRAP="127.0.0.1:$STRATA_PORT"
    local listener="PLAINTEXT://$STRATA_BOOTSTRAP"
    "$STRATA_BIN" server \
        --override node.id=1 \
        --override "listeners=$listener" \
        --override "advertised.listeners=$listener" \
        --override "log.dirs=$STRATA_ROOT/data" \
        --override strata.auto.format=true \
        </dev/null >"$STRATA_ROOT/strata.log" 2>&1 &
    STRATA_PID=$!
    local deadline=$((SECONDS + STRATA_STARTUP_TIMEOUT_S))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if ! kill -0 "$STRATA_PID" 2>/dev/null; then
            echo "strata exited before becoming ready; its output:" >&2
            cat "$STRATA_ROOT/strata.log" >&2
            return 1
        fi
        if grep -q " started (cluster " "$STRATA_ROOT/strata.log" 2>/dev/null \
            && (exec 3<>"/dev/tcp/127.0.0.1/$STRATA_PORT") 2>/dev/null; then
            export STRATA_BOOTSTRAP STRATA_PORT STRATA_PID STRATA_ROOT
            return 0
        fi
        sleep 0.1
    done
    echo "strata did not become ready on $STRATA_BOOTSTRAP within ${STRATA_STARTUP_TIMEOUT_S}s; its output:" >&2
    cat "$STRATA_ROOT/strata.log" >&2
    strata_stop
    return 1
}

strata_stop() {
    if [ -n "${STRATA_PID:-}" ] && kill -0 "$STRATA_PID" 2>/dev/null; then
        kill -9 "$STRATA_PID" 2>/dev/null || true
        wait "$STRATA_PID" 2>/dev/null || true
    fi
    STRATA_PID=""
    if [ -n "${STRATA_ROOT:-}" ] && [ -d "$STRATA_ROOT" ]; then
        if [ -n "${STRATA_KEEP_DATA:-}" ]; then
            echo "STRATA_KEEP_DATA: keeping $STRATA_ROOT" >&2
        else
            rm -rf "$STRATA_ROOT"
        fi
    fi
}

# Prints the node's last output lines (for failure reports).
strata_log_tail() {
    [ -n "${STRATA_ROOT:-}" ] && tail -n "${1:-30}" "$STRATA_ROOT/strata.log" 2>/dev/null || true
}
