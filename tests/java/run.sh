#!/usr/bin/env bash
# Java suite: compiles tests/java/src with javac against Apache kafka-clients 3.9.1 (the jars
# shipped by the venv's shigawire-apache-flink-libraries under pyflink/lib), starts one strata
# node, and runs StrataClientTest against it. Binary: $STRATA_BIN, else
# <repo>/target/debug/strata. An optional argument filters tests by name substring.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../lib/strata_node.sh
source "$HERE/../lib/strata_node.sh"

PY="$REPO_ROOT/.venv/bin/python"
[ -x "$PY" ] || { echo "tests/java: $PY missing; run scripts/setup.sh" >&2; exit 1; }
command -v javac >/dev/null || { echo "tests/java: javac missing; run scripts/setup.sh" >&2; exit 1; }
CP="$("$PY" "$REPO_ROOT/scripts/kafka_jars.py" --classpath)" || exit 1

BUILD="$HERE/build"
rm -rf "$BUILD" && mkdir -p "$BUILD"
javac -nowarn -d "$BUILD" -cp "$CP" "$HERE"/src/*.java || { echo "tests/java: javac failed" >&2; exit 1; }

trap strata_stop EXIT
trap "exit 143" TERM INT
strata_start || exit 1
echo "java suite: kafka-clients $(unzip -p "${CP%%:*}" kafka/kafka-version.properties 2>/dev/null | sed -n 's/^version=//p'), node at $STRATA_BOOTSTRAP"
# slf4j has no binding here: the client logs nothing, which keeps the output readable.
timeout 900 java -cp "$BUILD:$CP" StrataClientTest "$STRATA_BOOTSTRAP" "$@" 2>&1 | grep -v '^SLF4J:'
rc=${PIPESTATUS[0]}
if ! kill -0 "$STRATA_PID" 2>/dev/null; then
    echo "FAIL - strata died during the Java suite"; strata_log_tail 30; rc=1
elif [ "$rc" -ne 0 ]; then
    echo "---- last strata output ----"; strata_log_tail 30
fi
exit "$rc"
