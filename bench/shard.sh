#!/usr/bin/env bash
# Sharding benchmark: CPU of a 1-of-4 shard (--shard=0 --total-shards=4) against an unsharded
# instance, for kubestate and (for reference) kube-state-metrics, on one simulated API server.
#   bash bench/shard.sh [--quick]     # PODS=10000 by default; quick: 20 s churn window
# Per program: CPU seconds from start to ready (the initial LIST / WatchList of everything),
# then CPU seconds per 10k pod watch events over a churn window with all four running.
# Raw figures: bench/results/shard.tsv. Every shard still receives every event (sharding is
# client-side, by object UID, as in kube-state-metrics); it only keeps and renders its own.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
trap cleanup EXIT

CHURN_S=60
case "${1:-}" in --quick) CHURN_S=20 ;; "") ;; *) die "usage: bench/shard.sh [--quick]" ;; esac
N=${PODS:-10000}
CHURN_RATE=${CHURN_RATE:-250}

build_all
mkdir -p bench/results
OUT_TSV=bench/results/shard.tsv
: >"$OUT_TSV"
bash bench/machine.sh "$KSM" "pods=$N churn_rate=$CHURN_RATE churn_s=$CHURN_S" >bench/results/shard.machine.json
timeout=$(( 60 + N / 500 ))

start_sim "$N" $(( N / 30 ))
# The unsharded kubestate's pods (uid label) give the number shard 0 of 4 must show:
# FNV-1a 64 of the UID, then Lamping-Veach jump hash, as kube-state-metrics shards.
start_prog ks ks --initial-sync=watch-list
startup ks "$N" "$N" "$timeout"
curl -s --max-time 120 "http://127.0.0.1:$PORT_ks/metrics" | grep '^kube_pod_info{' |
  sed -n 's/.*[{,]uid="\([^"]*\)".*/\1/p' >"$WORK/uids"
want=$(python3 - "$WORK/uids" <<'PY'
import sys
M = 0xFFFFFFFFFFFFFFFF
def fnv(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & M
    return h
def jump(key, n):
    b, j = -1, 0
    while j < n:
        b = j
        key = (key * 2862933555777941757 + 1) & M
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b
print(sum(1 for u in open(sys.argv[1]) if jump(fnv(u.strip().encode()), 4) == 0))
PY
)
[ "$want" -gt 0 ] || die "no pods for shard 0"
emit "$N" sim shard0_pods "$want"
start_prog ks_shard ks --initial-sync=watch-list --shard=0 --total-shards=4
startup ks_shard "$N" "$want" "$timeout"
start_prog ksm ksm
startup ksm "$N" "$N" "$timeout"
start_prog ksm_shard ksm --shard=0 --total-shards=4
startup ksm_shard "$N" "$want" "$timeout"

names="ks ks_shard ksm ksm_shard"
declare -A c0
for p in $names; do v=PID_$p; c0[$p]=$(cpu_s "${!v}"); done
sleep 10
for p in $names; do v=PID_$p; emit "$N" "$p" idle10_cpu_s "$(minus "$(cpu_s "${!v}")" "${c0[$p]}")"; done

rv0=$(sim_rv)
for p in $names; do v=PID_$p; c0[$p]=$(cpu_s "${!v}"); done
echo "$CHURN_RATE" >"$CONTROL"
sleep "$CHURN_S"
echo 0 >"$CONTROL"
sleep 2
rv1=$(sim_rv)
for p in $names; do v=PID_$p; emit "$N" "$p" churn_cpu_s "$(minus "$(cpu_s "${!v}")" "${c0[$p]}")"; done
emit "$N" sim churn_events "$(( rv1 - rv0 ))"
emit "$N" sim churn_window_s "$(( CHURN_S + 2 ))"
for p in $names; do v=PORT_$p; emit "$N" "$p" pods_after_churn "$(pod_count "http://127.0.0.1:${!v}")"; done
python3 bench/report.py
log "done: $OUT_TSV, bench/RESULTS.md"
