#!/usr/bin/env bash
# Side-by-side benchmark of kubestate and kube-state-metrics v2.20.0 against one simulated API
# server per cluster size (bench/sim: simcluster with run-time churn control).
#   bash bench/run.sh --quick     # 1k and 10k pods, 20 s windows (under 10 minutes)
#   bash bench/run.sh             # also 100k pods, 60 s windows
# Raw figures: bench/results/run-<mode>.tsv (size, program, metric, value); then
# bench/report.py regenerates bench/RESULTS.md. See bench/README.md for what each figure means.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
trap cleanup EXIT

MODE=full
case "${1:-}" in --quick) MODE=quick ;; "") ;; *) die "usage: bench/run.sh [--quick]" ;; esac
if [ "$MODE" = quick ]; then
  SIZES=${SIZES:-"1000 10000"}; IDLE_S=20; CHURN_S=20
else
  SIZES=${SIZES:-"1000 10000 100000"}; IDLE_S=60; CHURN_S=60
fi
CHURN_RATE=${CHURN_RATE:-250}   # mutations (= pod watch events) per second during the window
SCRAPES=${SCRAPES:-20}

build_all
mkdir -p bench/results
OUT_TSV=bench/results/run-$MODE.tsv
: >"$OUT_TSV"
bash bench/machine.sh "$KSM" "churn_rate=$CHURN_RATE churn_s=$CHURN_S idle_s=$IDLE_S scrapes=$SCRAPES" \
  >"bench/results/run-$MODE.machine.json"

for N in $SIZES; do
  nodes=$(( N / 30 )); [ "$nodes" -ge 1 ] || nodes=1
  timeout=$(( 60 + N / 500 ))
  log "=== size $N pods, $nodes nodes"
  start_sim "$N" "$nodes"
  emit "$N" sim nodes "$nodes"
  emit "$N" sim objects "$(sed -n 's/.* objects=\([0-9]*\).*/\1/p' "$WORK/sim.log" | head -1)"

  # Start-up, one program at a time on a quiet server (no churn).
  start_prog ks_list ks --initial-sync=list
  startup ks_list "$N" "$N" "$timeout"
  stop_pid "$PID_ks_list"
  start_prog ks ks --initial-sync=watch-list
  startup ks "$N" "$N" "$timeout"
  start_prog ksm ksm
  startup ksm "$N" "$N" "$timeout"

  # Scrape latency and size, one program at a time (the other one idle).
  scrapes ks "$N" "$SCRAPES"
  scrapes ksm "$N" "$SCRAPES"

  # Idle: both running, no API events, nobody scraping.
  c0_ks=$(cpu_s "$PID_ks"); c0_ksm=$(cpu_s "$PID_ksm")
  sleep "$IDLE_S"
  c1_ks=$(cpu_s "$PID_ks"); c1_ksm=$(cpu_s "$PID_ksm")
  emit "$N" ks idle_cpu_s "$(minus "$c1_ks" "$c0_ks")"
  emit "$N" ksm idle_cpu_s "$(minus "$c1_ksm" "$c0_ksm")"
  emit "$N" sim idle_window_s "$IDLE_S"

  # Churn: both watching; events = resourceVersion delta (one per mutation, all on pods, each
  # seen once by each program's pod watch). CPU read 2 s after churn stops (queue drained).
  rv0=$(sim_rv); c0_ks=$(cpu_s "$PID_ks"); c0_ksm=$(cpu_s "$PID_ksm")
  echo "$CHURN_RATE" >"$CONTROL"
  sleep "$CHURN_S"
  echo 0 >"$CONTROL"
  sleep 2
  rv1=$(sim_rv); c1_ks=$(cpu_s "$PID_ks"); c1_ksm=$(cpu_s "$PID_ksm")
  emit "$N" sim churn_events "$(( rv1 - rv0 ))"
  emit "$N" sim churn_window_s "$(( CHURN_S + 2 ))"
  emit "$N" ks churn_cpu_s "$(minus "$c1_ks" "$c0_ks")"
  emit "$N" ksm churn_cpu_s "$(minus "$c1_ksm" "$c0_ksm")"
  # One gzip scrape each right after the churn: kubestate's cached gzip members of the churned
  # resources are stale, so this one pays for compression (the scrapes above hit the cache).
  for p in ks ksm; do
    v=PORT_$p
    emit "$N" "$p" scrape_gzip_after_churn_ms "$(curl -s --max-time 120 -o /dev/null -w '%{time_total}' \
      -H 'Accept-Encoding: gzip' "http://127.0.0.1:${!v}/metrics" | awk '{ printf "%.2f\n", $1 * 1000 }')"
  done
  # Both must still agree on the pod set after the churn, and with the server (the churn
  # keeps 3 or 4 short-lived pods, depending on where it stopped). A program still working
  # through its event queue shows an older count: the time until it agrees is recorded.
  emit "$N" sim pods_after_churn "$(sim_pod_count)"
  want=$(awk -v n="$N" '$1 == n && $2 == "sim" && $3 == "pods_after_churn" { v = $4 } END { print v }' "$OUT_TSV")
  for p in ks ksm; do
    v=PORT_$p
    t0=$(now_ms)
    c=$(pod_count "http://127.0.0.1:${!v}")
    emit "$N" "$p" pods_after_churn "$c"
    while [ "$c" != "$want" ] && [ $(( $(now_ms) - t0 )) -lt 60000 ]; do
      sleep 0.5
      c=$(pod_count "http://127.0.0.1:${!v}")
    done
    emit "$N" "$p" pods_agree_ms "$( [ "$c" = "$want" ] && echo $(( $(now_ms) - t0 )) || echo -1)"
  done
  emit "$N" ks rss_after_churn_kib "$(status_kib "$PID_ks" VmRSS)"
  emit "$N" ksm rss_after_churn_kib "$(status_kib "$PID_ksm" VmRSS)"

  # A second churn window in which Prometheus would scrape: each program gets a gzip scrape
  # every GZIP_SCRAPE_S (15) seconds while the churn runs, so the pod members are stale at
  # every scrape; the last one's time, and RSS after the window.
  echo "$CHURN_RATE" >"$CONTROL"
  for p in ks ksm; do gzip_scrape_loop "$p" "$CHURN_S" & done
  wait_bg_loops
  echo 0 >"$CONTROL"
  sleep 2
  for p in ks ksm; do
    emit "$N" "$p" scrape_gzip_during_churn_ms "$(tail -1 "$WORK/$p.churn-gzip.times" | awk '{ printf "%.2f\n", $1 * 1000 }')"
    emit "$N" "$p" scrape_gzip_during_churn_bytes "$(tail -1 "$WORK/$p.churn-gzip.times" | awk '{ print $2 }')"
  done
  emit "$N" ks scrape_plain_during_churn_ms "$(tail -1 "$WORK/ks.churn-plain.times" | awk '{ printf "%.2f\n", $1 * 1000 }')"
  # every gzip scrape of the window against the plain one right after it: the worst ratio
  emit "$N" ks gzip_over_plain_during_churn_max "$(paste -d' ' "$WORK/ks.churn-gzip.times" "$WORK/ks.churn-plain.times" |
    awk '$3 > 0 { r = $1 / $3; if (r > m) m = r } END { printf "%.2f\n", m }')"
  emit "$N" ks rss_after_gzip_churn_kib "$(status_kib "$PID_ks" VmRSS)"
  emit "$N" ksm rss_after_gzip_churn_kib "$(status_kib "$PID_ksm" VmRSS)"
  tel=$(curl -s --max-time 10 "http://127.0.0.1:$TPORT_ks/metrics" || true)
  emit "$N" ks gzip_cache_bytes "$(awk '$1 == "kubestate_gzip_cache_bytes" { print $2 }' <<<"$tel")"

  stop_pid "$PID_ks"; stop_pid "$PID_ksm"; stop_pid "$SIM_PID"
done
python3 bench/report.py
log "done: $OUT_TSV, bench/RESULTS.md"
