#!/usr/bin/env bash
# Recovery from an API server outage, kubestate and kube-state-metrics side by side.
#   bash bench/outage.sh            # OUTAGE_S=20 RUNS=3 STATUS=503 RETRY_AFTER=0 PODS=200
# Per run and program, on a fresh simulated API server (benchsim, four resources watched:
# pods, nodes, namespaces, deployments): sync, then an outage of OUTAGE_S seconds in which
# every request gets STATUS (with Retry-After when RETRY_AFTER > 0) and the open watches are
# cut; halfway through it a pod is created. Printed: the requests the server received during
# the outage, and the seconds from the server answering again to that pod in /metrics
# (polled every 50 ms). Raw figures: bench/results/outage.tsv. NO_KSM=1 skips kube-state-metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
trap cleanup EXIT

OUTAGE_S=${OUTAGE_S:-20}
RUNS=${RUNS:-3}
STATUS=${STATUS:-503}
RETRY_AFTER=${RETRY_AFTER:-0}
N=${PODS:-200}
RESOURCES=pods,nodes,namespaces,deployments

log "building kubestate (release) and benchsim"
(cargo build --release --locked --bin kubestate) >&2
(cargo build --release --offline --manifest-path bench/sim/Cargo.toml \
  --target-dir "$ROOT/target/benchsim") >&2
PROGS=(ks)
if [ -z "${NO_KSM:-}" ]; then
  KSM=$(bash bench/build-ksm.sh)
  PROGS+=(ksm)
fi
mkdir -p bench/results
OUT_TSV=bench/results/outage.tsv
: >"$OUT_TSV"
bash bench/machine.sh "${KSM:-true}" "outage_s=$OUTAGE_S status=$STATUS retry_after=$RETRY_AFTER pods=$N runs=$RUNS" \
  >bench/results/outage.machine.json

OC=$WORK/outage
oc_state() { cat "$OC.state" 2>/dev/null || echo "? ?"; }
wait_oc_status() { # STATUS: until benchsim has applied it (it re-reads the file every 100 ms)
  local i
  for i in $(seq 100); do
    [ "$(oc_state | awk '{ print $1 }')" = "$1" ] && return 0
    sleep 0.02
  done
  die "benchsim did not apply outage status $1"
}
marker_seen() {
  { curl -s --max-time 10 "$1/metrics" || true; } | grep -q 'pod="outage-marker-0"'
}

one_run() { # RUN PROG
  local run=$1 prog=$2 name="$2$1" kind=$2 url t_up t_seen reqs deadline
  echo "0 0 0" >"$OC"
  SIM_ARGS=(--outage-control "$OC")
  start_sim "$N" 10
  wait_oc_status 0
  start_prog "$name" "$kind"
  local port_var=PORT_$name
  url=http://127.0.0.1:${!port_var}
  wait_ready "$name" "$N" 120 >/dev/null
  sleep 3 # past the initial-events streams, on plain watches
  echo "$STATUS $RETRY_AFTER 0" >"$OC"
  wait_oc_status "$STATUS"
  sleep "$(awk -v s="$OUTAGE_S" 'BEGIN { print s / 2 }')"
  echo "$STATUS $RETRY_AFTER 1" >"$OC"
  sleep "$(awk -v s="$OUTAGE_S" 'BEGIN { print s / 2 }')"
  marker_seen "$url" && die "$name: the marker pod showed during the outage"
  echo "0 0 1" >"$OC"
  wait_oc_status 0
  t_up=$(now_ms)
  reqs=$(oc_state | awk '{ print $2 }')
  deadline=$(( t_up + 120000 ))
  until marker_seen "$url"; do
    [ "$(now_ms)" -lt "$deadline" ] || die "$name: marker pod not in /metrics 120 s after recovery"
    sleep 0.05
  done
  t_seen=$(now_ms)
  emit "$run" "$kind" outage_requests "$reqs"
  emit "$run" "$kind" recovery_s "$(awk -v a="$t_seen" -v b="$t_up" 'BEGIN { printf "%.2f\n", (a - b) / 1000 }')"
  local pid_var=PID_$name
  stop_pid "${!pid_var}"
  stop_pid "$SIM_PID"
}

for run in $(seq "$RUNS"); do
  for prog in "${PROGS[@]}"; do one_run "$run" "$prog"; done
done

printf '\n%-6s %-28s %-28s\n' program "requests during outage" "recovery to pod in /metrics (s)"
for prog in "${PROGS[@]}"; do
  r=$(awk -F'\t' -v p="$prog" '$2 == p && $3 == "outage_requests" { printf "%s ", $4 }' "$OUT_TSV")
  s=$(awk -F'\t' -v p="$prog" '$2 == p && $3 == "recovery_s" { printf "%s ", $4 }' "$OUT_TSV")
  printf '%-6s %-28s %-28s\n' "$prog" "$r" "$s"
done
python3 bench/report.py
log "outage ${OUTAGE_S}s, status $STATUS, Retry-After $RETRY_AFTER; raw: $OUT_TSV; bench/RESULTS.md regenerated"
