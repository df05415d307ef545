#!/usr/bin/env bash
# Compressed responses from the API server: bytes and CPU of kubestate with gzip (the
# default) and with --disable-compression, for the initial sync by WatchList and by LIST and
# over a churn window, against one simcluster (which compresses as kube-apiserver 1.37:
# LISTs over 128 KiB and WatchList streams; plain WATCH streams are never compressed).
#   flock /tmp/kubestate-bench.lock bash bench/apiserver_gzip.sh   # PODS=10000 CHURN=100 WINDOW_S=30
# Bytes: kubestate_apiserver_received_bytes_total (response bodies as received, before
# decoding; headers, chunk framing and TLS not counted) and ..._decoded_bytes_total, summed over
# the bench resources. CPU: utime+stime of each process. The four instances run side by side
# on the same server, so each one's time to ready includes the others' load.
set -euo pipefail
cd "$(dirname "$0")/.."
RESOURCES=pods,nodes,namespaces,deployments,replicasets,services,endpointslices,configmaps,secrets
PODS=${PODS:-10000}
CHURN=${CHURN:-100}
WINDOW_S=${WINDOW_S:-30}
cargo build -q --release --bin kubestate --example simcluster
BIN=target/release
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
"$BIN/examples/simcluster" --pods "$PODS" --nodes $((PODS / 30 + 1)) --churn-per-sec "$CHURN" \
  --kubeconfig-out "$WORK/kc" >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do grep -q "simcluster ready" "$WORK/sim.log" && break; sleep 0.2; done
grep -q "simcluster ready" "$WORK/sim.log" || { echo "simcluster did not start" >&2; exit 1; }
declare -A PID PORT T0
port=$((21000 + RANDOM % 20000))
start() { # name flags...
  local name=$1; shift
  PORT[$name]=$port
  T0[$name]=$(date +%s.%N)
  "$BIN/kubestate" --kubeconfig "$WORK/kc" --resources="$RESOURCES" --host 127.0.0.1 --port "$port" \
    --telemetry-host 127.0.0.1 --telemetry-port $((port + 1)) "$@" >"$WORK/$name.log" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
  port=$((port + 2))
}
names="gzip_watchlist plain_watchlist gzip_list plain_list"
start gzip_watchlist --initial-sync=watch-list
start plain_watchlist --initial-sync=watch-list --disable-compression
start gzip_list --initial-sync=list
start plain_list --initial-sync=list --disable-compression
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
bytes() { # name family -> sum over resources
  curl -s "http://127.0.0.1:$((PORT[$1] + 1))/metrics" |
    awk -v f="kubestate_apiserver_$2_bytes_total{" 'index($0, f) == 1 { s += $2 } END { printf "%d\n", s }'
}
declare -A READY SYNC_CPU SYNC_WIRE SYNC_DEC
pending="$names"
for _ in $(seq 1 3000); do
  left=""
  for n in $pending; do
    if curl -sf "http://127.0.0.1:${PORT[$n]}/readyz" >/dev/null; then
      READY[$n]=$(echo "$(date +%s.%N) - ${T0[$n]}" | bc -l)
      SYNC_CPU[$n]=$(cpu "${PID[$n]}")
      SYNC_WIRE[$n]=$(bytes "$n" received); SYNC_DEC[$n]=$(bytes "$n" decoded)
    else
      left="$left $n"
    fi
  done
  pending=$left
  [ -z "$pending" ] && break
  sleep 0.1
done
[ -z "$pending" ] || { echo "not ready:$pending" >&2; exit 1; }
sleep "${SETTLE_S:-10}"
declare -A C0 W0
for n in $names; do C0[$n]=$(cpu "${PID[$n]}"); W0[$n]=$(bytes "$n" received); done
sleep "$WINDOW_S"
printf "%-16s %8s %14s %14s %10s %14s %12s %8s\n" instance ready_s sync_wire_B sync_decoded_B sync_cpu_s window_wire_B window_cpu_s pods
for n in $names; do
  c1=$(cpu "${PID[$n]}"); w1=$(bytes "$n" received)
  pods=$(curl -s "http://127.0.0.1:${PORT[$n]}/metrics" | grep -c '^kube_pod_info{' || true)
  printf "%-16s %8.2f %14d %14d %10.2f %14d %12.2f %8d\n" "$n" "${READY[$n]}" "${SYNC_WIRE[$n]}" \
    "${SYNC_DEC[$n]}" "$(echo "${SYNC_CPU[$n]} / $hz" | bc -l)" $((w1 - W0[$n])) \
    "$(echo "($c1 - ${C0[$n]}) / $hz" | bc -l)" "$pods"
done
