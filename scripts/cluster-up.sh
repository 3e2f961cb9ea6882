#!/usr/bin/env bash
# The one command to run the three-node Strata cluster of docker-compose.yml from a fresh clone:
# installs the musl toolchain bits (scripts/setup-musl.sh), builds the image strata:local
# (scripts/build-image.sh), starts the cluster and waits until every node is healthy.
#
#   scripts/cluster-up.sh                 # everything
#   STRATA_SKIP_BUILD=1 scripts/cluster-up.sh   # reuse an existing strata:local image
#   STRATA_UP_TIMEOUT=180 scripts/cluster-up.sh # seconds to wait for health (default 120)
#   scripts/cluster-down.sh               # stop and delete containers + data volumes
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SERVICES=(strata-1 strata-2 strata-3)
UP_TIMEOUT_SECONDS="${STRATA_UP_TIMEOUT:-120}"

log() { printf '[cluster-up] %s\n' "$*"; }
die() { printf '[cluster-up] error: %s\n' "$*" >&2; exit 1; }

# Compose v2 plugin if present, else the v1 `docker-compose` (Debian's package).
if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
else
    die "neither 'docker compose' nor 'docker-compose' is installed"
fi
docker info >/dev/null 2>&1 || die "cannot talk to the Docker engine (is it running, may this user use it?)"

if [ "${STRATA_SKIP_BUILD:-0}" = 1 ] && docker image inspect strata:local >/dev/null 2>&1; then
    log "STRATA_SKIP_BUILD=1: reusing image strata:local"
else
    scripts/setup-musl.sh
    scripts/build-image.sh
fi

log "${COMPOSE[*]} up -d"
start=$(date +%s)
"${COMPOSE[@]}" up -d

deadline=$(( start + UP_TIMEOUT_SECONDS ))
while :; do
    waiting=()
    for svc in "${SERVICES[@]}"; do
        id="$("${COMPOSE[@]}" ps -q "$svc" 2>/dev/null || true)"
        state="missing"
        [ -n "$id" ] && state="$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" 2>/dev/null || echo missing)"
        case "$state" in
            running/healthy) ;;
            running/unhealthy | exited/* | dead/*)
                "${COMPOSE[@]}" logs --tail 30 "$svc" >&2 || true
                die "$svc is $state (logs above; scripts/cluster-down.sh cleans up)" ;;
            *) waiting+=("$svc:$state") ;;
        esac
    done
    [ ${#waiting[@]} -eq 0 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
        die "not healthy after ${UP_TIMEOUT_SECONDS}s: ${waiting[*]} (see: ${COMPOSE[*]} logs)"
    fi
    sleep 1
done
log "all ${#SERVICES[@]} nodes healthy in $(( $(date +%s) - start ))s. Try:"
c="${COMPOSE[*]}"
cat <<EOT
  $c exec strata-1 kafka-metadata-quorum --bootstrap-server strata-1:9092 describe --status
  $c exec strata-1 kafka-topics --bootstrap-server strata-1:9092 --create --topic t --partitions 3 --replication-factor 1
  $c exec strata-1 kafka-topics --bootstrap-server strata-1:9092 --describe
  printf 'one\ntwo\n' | $c exec -T strata-2 kafka-console-producer --bootstrap-server strata-2:9092 --topic t
  $c exec strata-3 kafka-console-consumer --bootstrap-server strata-3:9092 --topic t --from-beginning --max-messages 2
  # from the host (any Kafka client): bootstrap localhost:19092,localhost:29092,localhost:39092
  $c logs -f strata-1
  scripts/cluster-down.sh
EOT
