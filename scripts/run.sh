#!/usr/bin/env bash
# Builds strata (release) and starts one node: combined broker + controller on 127.0.0.1:9092,
# data in ./strata-data (formatted on first start). Extra arguments go to `strata server`.
# Also links Kafka's tool names (kafka-topics, kafka-topics.sh, …) next to the binary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v cargo >/dev/null 2>&1; then
    echo "run.sh: cargo is required (https://rustup.rs)" >&2
    exit 1
fi
cargo build --release -p strata
bin_dir="$PWD/target/release"
for tool in kafka-topics kafka-console-producer kafka-console-consumer kafka-consumer-groups kafka-metadata-quorum kafka-leader-election kafka-server-start; do
    ln -sf strata "$bin_dir/$tool"
    ln -sf strata "$bin_dir/$tool.sh"
done
echo "run.sh: Kafka tools linked in $bin_dir (add it to PATH: export PATH=\"$bin_dir:\$PATH\")"
exec "$bin_dir/strata" server "$@"
