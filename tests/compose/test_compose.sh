#!/usr/bin/env bash
# The docker-compose cluster as the README runs it: scripts/cluster-up.sh (static musl image,
# three nodes, health checks), then the seeds' commands inside the network, a node killed with
# `docker kill` (SIGKILL) while the cluster keeps serving, and scripts/cluster-down.sh.
# Skips (exit 0 with a message) when this machine has no Docker engine.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if ! docker info >/dev/null 2>&1; then
    echo "compose: no Docker engine here; skipped"
    exit 0
fi
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
pass=0; fail=0
ok() { echo "ok   - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }
cleanup() { bash scripts/cluster-down.sh >/dev/null 2>&1 || true; }
trap cleanup EXIT

if bash scripts/cluster-up.sh; then ok "cluster-up.sh: three healthy nodes"; else
    bad "cluster-up.sh"; echo "compose: $pass passed, $fail failed"; exit 1
fi

x() { "${COMPOSE[@]}" exec -T "$@"; }
if x strata-1 kafka-topics --bootstrap-server strata-1:9092 --create --topic inventory_purchases --partitions 6 --replication-factor 3; then
    ok "seed: kafka-topics --create (RF 3) inside the network"
else bad "kafka-topics --create"; fi
described=$(x strata-2 kafka-topics --bootstrap-server strata-2:9092 --describe --topic inventory_purchases)
if [ "$(printf '%s\n' "$described" | grep -c 'Isr: [0-9],[0-9],[0-9]')" = 6 ]; then
    ok "seed: --describe from another node shows 6 partitions with a 3-replica ISR"
else bad "describe: $described"; fi
# The seeds' round trip on the replicated topic: produce with acks=all on strata-1, consume
# on strata-3 (followers copy every record before it is visible).
printf 'product: apples, quantity: 5\nproduct: lemons, quantity: 7\n' | x strata-1 kafka-console-producer --bootstrap-server strata-1:9092 --topic inventory_purchases --producer-property acks=all
got=$(x strata-3 kafka-console-consumer --bootstrap-server strata-3:9092 --topic inventory_purchases --from-beginning --max-messages 2 --timeout-ms 20000 2>/dev/null | sort)
if [ "$got" = "$(printf 'product: apples, quantity: 5\nproduct: lemons, quantity: 7')" ]; then
    ok "seed: console producer on strata-1, consumer on strata-3 (RF 3, acks=all)"
else bad "console round trip: $got"; fi
# The seeds' consumer groups: a console consumer in group 1, then kafka-consumer-groups.
got=$(x strata-2 kafka-console-consumer --bootstrap-server strata-2:9092 --topic inventory_purchases --group 1 --from-beginning --max-messages 2 --timeout-ms 30000 2>/dev/null | sort)
if [ "$got" = "$(printf 'product: apples, quantity: 5\nproduct: lemons, quantity: 7')" ]; then
    ok "seed: kafka-console-consumer --group 1"
else bad "console consumer --group 1: $got"; fi
described=$(x strata-1 kafka-consumer-groups --bootstrap-server strata-1:9092 --describe --group 1 2>/dev/null)
if x strata-1 kafka-consumer-groups --bootstrap-server strata-1:9092 --list 2>/dev/null | grep -qx 1 \
    && [ "$(printf '%s\n' "$described" | awk '$1 == "1" && $6 == "0"' | wc -l)" -eq 6 ]; then
    ok "seed: kafka-consumer-groups --list and --describe (6 partitions, lag 0)"
else bad "kafka-consumer-groups: $described"; fi

docker kill strata-2 >/dev/null
deadline=$((SECONDS + 30))
while :; do
    d=$(x strata-1 kafka-topics --bootstrap-server strata-1:9092 --describe --topic inventory_purchases 2>/dev/null)
    if [ -n "$d" ] && ! printf '%s\n' "$d" | grep -q 'Leader: 2'; then ok "docker kill strata-2: its leaderships moved"; break; fi
    if [ $SECONDS -ge $deadline ]; then bad "leaders after killing strata-2: $d"; break; fi
    sleep 0.5
done
if x strata-3 kafka-topics --bootstrap-server strata-3:9092 --create --topic after-kill --partitions 2 --replication-factor 2; then
    ok "topic creation still works with one node down"
else bad "create after kill"; fi
# No acknowledged record is lost with the node that led some of them gone.
got=$(x strata-3 kafka-console-consumer --bootstrap-server strata-3:9092 --topic inventory_purchases --from-beginning --max-messages 2 --timeout-ms 20000 2>/dev/null | sort)
if [ "$got" = "$(printf 'product: apples, quantity: 5\nproduct: lemons, quantity: 7')" ]; then
    ok "records survive docker kill strata-2"
else bad "records after kill: $got"; fi

# Cut strata-3 off the network: whatever it still believes it leads, an acks=all write to it
# must not be acknowledged (its followers cannot fetch, so its high watermark cannot move).
network=$(docker inspect strata-3 -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}')
if docker network disconnect "$network" strata-3; then
    if printf 'cut-off\n' | timeout 40 "${COMPOSE[@]}" exec -T strata-3 kafka-console-producer --bootstrap-server localhost:9092 --topic inventory_purchases --producer-property acks=all --producer-property delivery.timeout.ms=8000 >/dev/null 2>&1; then
        bad "a partitioned node acknowledged an acks=all write"
    else ok "docker network disconnect strata-3: no acks=all write acknowledged by it"; fi
    docker network connect "$network" strata-3 || bad "reconnect strata-3"
else bad "docker network disconnect strata-3"; fi

echo "compose: $pass passed, $fail failed"
[ "$fail" = 0 ]
