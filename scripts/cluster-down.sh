#!/usr/bin/env bash
# Stops the docker-compose.yml cluster and deletes its containers, network and data volumes.
#   scripts/cluster-down.sh              # everything, data included
#   scripts/cluster-down.sh --keep-data  # keep the volumes (the next cluster-up resumes them)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
else
    echo "[cluster-down] error: neither 'docker compose' nor 'docker-compose' is installed" >&2
    exit 1
fi
case "${1:-}" in
    --keep-data) "${COMPOSE[@]}" down ;;
    "") "${COMPOSE[@]}" down -v ;;
    *) echo "usage: $0 [--keep-data]" >&2; exit 2 ;;
esac
