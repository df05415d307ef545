#!/usr/bin/env bash
# Bytes a 1-of-4 shard reads from the API server: unsharded vs --shard-strategy=range vs jump,
# against simcluster with server-side sharding (KEP-5866 shardSelector) on.
#   bash bench/range_bytes.sh            # PODS=4000 CHURN=100 WINDOW_S=20 by default
# Reported per instance over a churn window after all are synced and settled: bytes and CPU.
# Bytes are TCP bytes_received (ss -ti) on the process's connections to the API server, which
# stay open through the window (watch timeouts are 5-10 min); CPU is utime+stime. Debug builds (the default here) give meaningful
# bytes but not meaningful CPU: PROFILE=release for CPU figures.
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${PODS:-4000}
CHURN=${CHURN:-100}
WINDOW_S=${WINDOW_S:-20}
PROFILE=${PROFILE:-debug}
flag=(); [ "$PROFILE" = release ] && flag=(--release)
cargo build -q "${flag[@]}" --bin kubestate --example simcluster
BIN=target/$PROFILE
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
"$BIN/examples/simcluster" --pods "$PODS" --nodes $((PODS / 30 + 1)) --churn-per-sec "$CHURN" \
  --sharded-list-and-watch true --kubeconfig-out "$WORK/kc" >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do grep -q "simcluster ready" "$WORK/sim.log" && break; sleep 0.2; done
grep -q "simcluster ready" "$WORK/sim.log" || { echo "simcluster did not start" >&2; exit 1; }
declare -A PID PORT
port=$((21000 + RANDOM % 20000))
start() { # name flags...
  local name=$1; shift
  PORT[$name]=$port
  "$BIN/kubestate" --kubeconfig "$WORK/kc" --resources=pods --host 127.0.0.1 --port "$port" \
    --telemetry-host 127.0.0.1 --telemetry-port $((port + 1)) "$@" >"$WORK/$name.log" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
  port=$((port + 2))
}
start unsharded
start range_1of4 --shard=0 --total-shards=4 --shard-strategy=range
start jump_1of4 --shard=0 --total-shards=4 --shard-strategy=jump
names="unsharded range_1of4 jump_1of4"
for n in $names; do
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:${PORT[$n]}/readyz" >/dev/null && break; sleep 0.2; done
done
SIM_PORT=$(sed -n 's/.*url=http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/sim.log" | head -1)
rchar() { # bytes received by pid $1 from the sim, over its open connections
  ss -tinpH "dport = :$SIM_PORT" | awk -v pid="pid=$1," '
    /users:/ { mine = index($0, pid) > 0; next }
    mine { if (match($0, /bytes_received:[0-9]+/)) s += substr($0, RSTART + 15, RLENGTH - 15); mine = 0 }
    END { print s + 0 }'
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sleep "${SETTLE_S:-10}" # let every watch catch up with the churn that went on during syncs
declare -A B0 C0
for n in $names; do B0[$n]=$(rchar "${PID[$n]}"); C0[$n]=$(cpu "${PID[$n]}"); done
sleep "$WINDOW_S"
[ -n "${DEBUG_SS:-}" ] && ss -tinpH "dport = :$SIM_PORT" >&2
hz=$(getconf CLK_TCK)
printf "%-12s %14s %16s %14s %8s %s\n" instance bytes_at_start window_bytes window_cpu_s pods server_filtered
for n in $names; do
  b1=$(rchar "${PID[$n]}"); c1=$(cpu "${PID[$n]}")
  pods=$(curl -s "http://127.0.0.1:${PORT[$n]}/metrics" | grep -c '^kube_pod_info{' || true)
  sf=$(curl -s "http://127.0.0.1:$((PORT[$n] + 1))/metrics" | sed -n 's/^kubestate_shard_server_filtered{resource="pods"} //p')
  printf "%-12s %14d %16d %14.2f %8d %s\n" "$n" "${B0[$n]}" $((b1 - B0[$n])) \
    "$(echo "($c1 - ${C0[$n]}) / $hz" | bc -l)" "$pods" "${sf:--}"
done
