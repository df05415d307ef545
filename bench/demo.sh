#!/usr/bin/env bash
# Runs kubestate on real-looking data without a cluster: a simulated API server serves a
# generated cluster (with churn) and kubestate watches it. Extra arguments go to kubestate.
#   bash bench/demo.sh                      # metrics on :8080, self-metrics on :8081
#   PODS=20000 NODES=200 bash bench/demo.sh --enable-gzip-encoding
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin kubestate --example simcluster
dir=$(mktemp -d)
target/release/examples/simcluster --pods "${PODS:-2000}" --nodes "${NODES:-50}" \
  --churn-per-sec "${CHURN:-5}" --all-kinds --kubeconfig-out "$dir/kubeconfig" &
sim=$!
trap 'kill $sim 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [ -s "$dir/kubeconfig" ] && break; sleep 0.1; done
echo "demo: try  curl -s localhost:${PORT:-8080}/metrics | head -50"
target/release/kubestate --kubeconfig "$dir/kubeconfig" --port "${PORT:-8080}" "$@"
