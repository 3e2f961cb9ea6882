#!/usr/bin/env bash
# The three-node cluster of docker-compose.yml without Docker: three `strata server` processes
# on 127.0.0.1, each a combined broker + controller, the three controllers forming the quorum.
#
#   scripts/dev-cluster.sh start  [DIR]   # start (formats empty data dirs), wait until healthy
#   scripts/dev-cluster.sh status [DIR]   # pid + healthcheck of each node; exit 0 if all healthy
#   scripts/dev-cluster.sh stop   [DIR]   # SIGTERM (controlled shutdown), SIGKILL after 30 s
#   scripts/dev-cluster.sh clean  [DIR]   # stop, then delete DIR
#
# DIR defaults to ./dev-cluster-data (of the current directory). For node N (1, 2, 3):
#   client   PLAINTEXT://127.0.0.1:N9092   (19092, 29092, 39092)
#   raft     CONTROLLER://127.0.0.1:N9093  (19093, 29093, 39093)
#   DIR/node-N/server.properties, DIR/node-N/data (log.dirs), DIR/node-N.log, DIR/node-N.pid
# The binary is $STRATA_BIN, else target/debug/strata (built with `cargo build -p strata` when
# missing). KAFKA_* / STRATA_* variables in the environment still apply to every node.
# The ports are the host ports docker-compose.yml publishes: run one of the two at a time.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

NODES=(1 2 3)
HOST=127.0.0.1
# Must be the same for all three nodes (Kafka's base64 UUID form; any `kafka-storage random-uuid`).
CLUSTER_ID="${STRATA_DEV_CLUSTER_ID:-MkU3OEVBNTcwNTJENDM2Qg}"
START_TIMEOUT_SECONDS="${STRATA_DEV_TIMEOUT:-90}"
STOP_TIMEOUT_SECONDS=30

log() { printf '[dev-cluster] %s\n' "$*"; }
die() { printf '[dev-cluster] error: %s\n' "$*" >&2; exit 1; }

cmd="${1:-}"
dir="${2:-./dev-cluster-data}"
case "$cmd" in start | stop | status | clean) ;; *)
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2 ;;
esac
if [ "$cmd" = start ]; then
    mkdir -p "$dir"
elif [ ! -d "$dir" ]; then
    log "no cluster directory $dir"
    [ "$cmd" = status ] && exit 1 || exit 0
fi
dir="$(cd "$dir" && pwd)"

client_port() { echo "${1}9092"; }
raft_port() { echo "${1}9093"; }
pid_file() { echo "$dir/node-$1.pid"; }

# The pid of node N if that process is alive and is a strata server (not a recycled pid).
running_pid() {
    local f pid
    f="$(pid_file "$1")"
    [ -f "$f" ] || return 1
    pid="$(cat "$f")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'server --config' || return 1
    echo "$pid"
}

binary() {
    local bin="${STRATA_BIN:-$repo/target/debug/strata}"
    if [ ! -x "$bin" ]; then
        [ -z "${STRATA_BIN:-}" ] || die "STRATA_BIN=$bin is not executable"
        log "building $bin (cargo build -p strata)"
        (cd "$repo" && cargo build -p strata) >&2
    fi
    echo "$bin"
}

healthy() { # node bin
    "$2" healthcheck --bootstrap-server "$HOST:$(client_port "$1")" --node-id "$1" \
        --timeout-ms 2000 >/dev/null 2>&1
}

write_properties() { # node
    local n="$1" voters="" v
    for v in "${NODES[@]}"; do voters="${voters:+$voters,}$v@$HOST:$(raft_port "$v")"; done
    mkdir -p "$dir/node-$n/data"
    cat >"$dir/node-$n/server.properties" <<EOF
# Written by scripts/dev-cluster.sh (rewritten on every start); see deploy/combined.properties.
process.roles=broker,controller
node.id=$n
listeners=PLAINTEXT://$HOST:$(client_port "$n"),CONTROLLER://$HOST:$(raft_port "$n")
advertised.listeners=PLAINTEXT://$HOST:$(client_port "$n")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
controller.quorum.voters=$voters
log.dirs=$dir/node-$n/data
num.partitions=3
# Strata-only: format the empty data dir at first start, with the cluster id shared by all nodes.
strata.auto.format=true
strata.cluster.id=$CLUSTER_ID
EOF
}

start() {
    local bin n pid deadline waiting
    bin="$(binary)"
    for n in "${NODES[@]}"; do
        if pid="$(running_pid "$n")"; then
            log "node $n already running (pid $pid)"
            continue
        fi
        write_properties "$n"
        # setsid: the nodes outlive this shell and a Ctrl-C in it.
        setsid "$bin" server --config "$dir/node-$n/server.properties" \
            >>"$dir/node-$n.log" 2>&1 </dev/null &
        echo $! >"$(pid_file "$n")"
        log "node $n started (pid $!), client $HOST:$(client_port "$n"), log $dir/node-$n.log"
    done
    deadline=$(( $(date +%s) + START_TIMEOUT_SECONDS ))
    while :; do
        waiting=()
        for n in "${NODES[@]}"; do
            if ! running_pid "$n" >/dev/null; then
                log "node $n exited; last lines of $dir/node-$n.log:"
                tail -n 20 "$dir/node-$n.log" >&2 || true
                die "node $n is not running"
            fi
            healthy "$n" "$bin" || waiting+=("$n")
        done
        [ ${#waiting[@]} -eq 0 ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            die "nodes ${waiting[*]} not healthy after ${START_TIMEOUT_SECONDS}s (logs: $dir/node-N.log)"
        fi
        sleep 0.5
    done
    log "all nodes healthy. Try:"
    cat <<EOF
  export PATH="$(dirname "$bin"):\$PATH"   # or call: $bin kafka-topics …
  $bin kafka-topics --bootstrap-server $HOST:19092 --create --topic t --partitions 3 --replication-factor 1
  $bin kafka-topics --bootstrap-server $HOST:19092 --describe
  $bin kafka-metadata-quorum --bootstrap-server $HOST:19092 describe --status
  echo hello | $bin kafka-console-producer --bootstrap-server $HOST:19092 --topic t
  $bin kafka-console-consumer --bootstrap-server $HOST:29092 --topic t --from-beginning --max-messages 1
  $0 stop $dir
EOF
}

stop() {
    local n pid deadline stopped=0
    for n in "${NODES[@]}"; do
        if pid="$(running_pid "$n")"; then
            kill -TERM "$pid"
            log "node $n: SIGTERM (pid $pid)"
            stopped=1
        fi
    done
    [ "$stopped" -eq 1 ] || log "no node running"
    deadline=$(( $(date +%s) + STOP_TIMEOUT_SECONDS ))
    for n in "${NODES[@]}"; do
        while pid="$(running_pid "$n")"; do
            if [ "$(date +%s)" -ge "$deadline" ]; then
                log "node $n still running after ${STOP_TIMEOUT_SECONDS}s: SIGKILL (pid $pid)"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.2
        done
        rm -f "$(pid_file "$n")"
    done
}

status() {
    local bin n pid all=0
    bin="$(binary)"
    for n in "${NODES[@]}"; do
        if ! pid="$(running_pid "$n")"; then
            echo "node $n: not running"
            all=1
        elif healthy "$n" "$bin"; then
            echo "node $n: healthy (pid $pid, $HOST:$(client_port "$n"))"
        else
            echo "node $n: running but NOT healthy (pid $pid, log $dir/node-$n.log)"
            all=1
        fi
    done
    return "$all"
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    clean) stop; rm -rf "$dir"; log "deleted $dir" ;;
esac
