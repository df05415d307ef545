# Shared helpers of bench/run.sh and bench/shard.sh (sourced, not run).
# Every server listens on 127.0.0.1; every wait and request loop is bounded; every process
# started here is recorded in PIDS and killed by cleanup() (installed as an EXIT trap).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KUBESTATE_BENCH_CACHE:-$HOME/.cache/kubestate-bench}
CLK_TCK=$(getconf CLK_TCK)
RESOURCES=pods,nodes,namespaces,deployments,replicasets,services,endpointslices,configmaps,secrets
KS=$ROOT/target/release/kubestate
SIM=$ROOT/target/benchsim/release/benchsim
PIDS=()
SIM_ARGS=() # extra benchsim flags (bench/outage.sh: --outage-control)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubestate-bench.XXXXXX")

log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${KEEP_WORK:-}" ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}

stop_pid() { # PID: stop one process we started and forget it
  local p=$1 q rest=()
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || rest+=("$q"); done
  PIDS=("${rest[@]}")
}

build_all() {
  log "building kubestate (release), benchsim, kube-state-metrics"
  (cd "$ROOT" && cargo build --release --locked --bin kubestate --example simcluster) >&2
  (cd "$ROOT" && cargo build --release --offline --manifest-path bench/sim/Cargo.toml \
    --target-dir "$ROOT/target/benchsim") >&2
  KSM=$(bash "$ROOT/bench/build-ksm.sh")
  [ -x "$KSM" ] || die "no kube-state-metrics binary"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

now_ms() { date +%s%3N; }
# CPU seconds (user+system) of PID so far, from /proc/PID/stat (fields 14, 15).
cpu_s() { awk -v t="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / t }' "/proc/$1/stat"; }
# A /proc/PID/status field in KiB (VmRSS, VmHWM).
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# start_sim PODS NODES: starts benchsim with churn off; sets SIM_PID, KUBECONFIG_FILE, CONTROL.
start_sim() {
  local pods=$1 nodes=$2
  CONTROL=$WORK/churn
  KUBECONFIG_FILE=$WORK/kubeconfig
  echo 0 >"$CONTROL"
  rm -f "$KUBECONFIG_FILE"
  "$SIM" --pods "$pods" --nodes "$nodes" --port "$(free_port)" \
    --kubeconfig-out "$KUBECONFIG_FILE" --control "$CONTROL" "${SIM_ARGS[@]}" >"$WORK/sim.log" 2>&1 &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  local i
  for i in $(seq 1200); do # up to 120 s to generate the cluster
    [ -s "$KUBECONFIG_FILE" ] && [ -s "$CONTROL.rv" ] && break
    kill -0 "$SIM_PID" 2>/dev/null || die "benchsim died: $(cat "$WORK/sim.log")"
    sleep 0.1
  done
  [ -s "$KUBECONFIG_FILE" ] || die "benchsim not ready after 120 s"
  log "$(grep -m1 'benchsim ready' "$WORK/sim.log")"
}
sim_rv() { awk '{ print $1 }' "$CONTROL.rv"; }
set_churn() { echo "$1" >"$CONTROL"; sleep 0.3; }

# start_prog NAME ks|ksm EXTRA_ARGS...: sets PID_<NAME>, PORT_<NAME>, T0_<NAME> (ms).
start_prog() {
  local name=$1 kind=$2; shift 2
  local port tport bin
  port=$(free_port); tport=$(free_port)
  case $kind in ks) bin=$KS ;; ksm) bin=$KSM ;; *) die "kind $kind" ;; esac
  printf -v "T0_$name" '%s' "$(now_ms)"
  "$bin" --kubeconfig "$KUBECONFIG_FILE" --host 127.0.0.1 --port "$port" \
    --telemetry-host 127.0.0.1 --telemetry-port "$tport" --resources "$RESOURCES" \
    --enable-gzip-encoding "$@" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  printf -v "PORT_$name" '%s' "$port"
  printf -v "TPORT_$name" '%s' "$tport"
  printf -v "KIND_$name" '%s' "$kind"
}

# wait_readyz NAME TIMEOUT_S: polls kubestate's /readyz until 200 (every watch synced, every
# store filled; no /metrics scrape made yet).
wait_readyz() {
  local name=$1 timeout=$2
  local pid_var=PID_$name port_var=PORT_$name
  local pid=${!pid_var} url=http://127.0.0.1:${!port_var}/readyz
  local deadline=$(( $(now_ms) + timeout * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || die "$name exited: $(tail -20 "$WORK/$name.log")"
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)" = 200 ] && return 0
    sleep 0.1
  done
  die "$name: /readyz not 200 after ${timeout}s"
}

# pod_count URL: number of kube_pod_info samples in one scrape (0 when unreachable).
pod_count() {
  { curl -s --max-time 120 "$1/metrics" || true; } | grep -c '^kube_pod_info{' || true
}

# sim_pod_count: the pods the simulated API server holds (its own LIST), the truth the
# programs' kube_pod_info counts are checked against after churn.
sim_pod_count() {
  local url
  url=$(awk '$1 == "server:" { print $2; exit }' "$KUBECONFIG_FILE")
  # one item and the count of the rest: a whole LIST at 100k pods is gigabytes in the server
  { curl -s --max-time 60 "$url/api/v1/pods?limit=1" || true; } |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(len(d["items"]) + d["metadata"].get("remainingItemCount", 0))' 2>/dev/null || echo 0
}

# wait_ready NAME WANT TIMEOUT_S: polls /metrics until it has >= WANT kube_pod_info samples.
# Prints the time to ready in ms (from start to the end of that scrape).
wait_ready() {
  local name=$1 want=$2 timeout=$3
  local pid_var=PID_$name port_var=PORT_$name t0_var=T0_$name
  local pid=${!pid_var} url=http://127.0.0.1:${!port_var} t0=${!t0_var}
  local deadline=$(( $(now_ms) + timeout * 1000 )) c
  while [ "$(now_ms)" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || die "$name exited: $(tail -20 "$WORK/$name.log")"
    c=$(pod_count "$url")
    if [ "$c" -ge "$want" ]; then
      echo $(( $(now_ms) - t0 ))
      return 0
    fi
    sleep 0.2
  done
  die "$name: fewer than $want kube_pod_info samples after ${timeout}s (last $c); log: $(tail -20 "$WORK/$name.log")"
}

# RESULT rows: size <TAB> program <TAB> metric <TAB> value
emit() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT_TSV"; log "$1 $2 $3 = $4"; }

# startup NAME SIZE WANT TIMEOUT: time to ready, sync CPU, peak RSS, RSS after sync.
# Peak start-up RSS (peak_rss_kib) is VmHWM before any /metrics scrape: for kubestate read
# when /readyz first answers 200; KSM's is read after its readiness scrape as before (the only
# readiness signal used for it; it streams its responses, so the scrape adds little).
# peak_rss_scrape_kib is VmHWM after the readiness scrape, for both.
startup() {
  local name=$1 size=$2 want=$3 timeout=$4 ttr
  local pid_var=PID_$name kind_var=KIND_$name
  local pid=${!pid_var} peak=""
  if [ "${!kind_var}" = ks ]; then
    wait_readyz "$name" "$timeout"
    peak=$(status_kib "$pid" VmHWM)
  fi
  ttr=$(wait_ready "$name" "$want" "$timeout")
  emit "$size" "$name" ready_ms "$ttr"
  emit "$size" "$name" sync_cpu_s "$(cpu_s "$pid")"
  emit "$size" "$name" peak_rss_scrape_kib "$(status_kib "$pid" VmHWM)"
  emit "$size" "$name" peak_rss_kib "${peak:-$(status_kib "$pid" VmHWM)}"
  sleep 3 # let the collector settle (Go GC) before RSS
  emit "$size" "$name" rss_kib "$(status_kib "$pid" VmRSS)"
}

# pctl P < numbers: nearest-rank percentile.
pctl() { sort -g | awk -v p="$1" '{ a[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print a[i] }'; }

# scrapes NAME SIZE N: N plain and N gzip scrapes, sequential; latency p50/p99 (ms) and bytes.
scrapes() {
  local name=$1 size=$2 n=$3 kind enc
  local port_var=PORT_$name
  local url=http://127.0.0.1:${!port_var}/metrics
  curl -s --max-time 120 -o "$WORK/$name.metrics" "$url"
  emit "$size" "$name" samples "$(grep -vc '^#' "$WORK/$name.metrics" || true)"
  emit "$size" "$name" families "$(grep -c '^# TYPE' "$WORK/$name.metrics" || true)"
  for kind in plain gzip; do
    local hdr=()
    if [ "$kind" = gzip ]; then
      hdr=(-H 'Accept-Encoding: gzip')
      # Warm means what a Prometheus sees from its second scrape on: one gzip scrape, then
      # GZIP_SETTLE_S (10) quiet seconds in which kubestate's settler recompresses what that
      # scrape asked for at the settled level (KSM has no cache: no difference for it).
      curl -s --max-time 120 -o /dev/null "${hdr[@]}" "$url"
      sleep "${GZIP_SETTLE_S:-10}"
    fi
    enc=$(curl -s --max-time 120 -D - -o /dev/null "${hdr[@]}" "$url" | tr -d '\r' |
      awk -F': ' 'tolower($1) == "content-encoding" { print $2 }')
    [ "$kind" = gzip ] && [ "$enc" != gzip ] && log "WARNING: $name answered gzip request with encoding '$enc'"
    : >"$WORK/$name.$kind.times"
    local i
    for i in $(seq "$n"); do
      curl -s --max-time 120 -o /dev/null -w '%{time_total} %{size_download}\n' "${hdr[@]}" "$url" \
        >>"$WORK/$name.$kind.times"
    done
    emit "$size" "$name" "scrape_${kind}_p50_ms" "$(awk '{ printf "%.2f\n", $1 * 1000 }' "$WORK/$name.$kind.times" | pctl 50)"
    emit "$size" "$name" "scrape_${kind}_p99_ms" "$(awk '{ printf "%.2f\n", $1 * 1000 }' "$WORK/$name.$kind.times" | pctl 99)"
    emit "$size" "$name" "bytes_${kind}" "$(awk '{ print $2 }' "$WORK/$name.$kind.times" | pctl 50)"
  done
}
# gzip_scrape_loop NAME SECONDS: a gzip scrape of NAME every GZIP_SCRAPE_S (15) seconds, the
# first at once, for SECONDS (a scrape slower than the interval is followed by the next at
# once); "time_total size_download" per scrape in $WORK/NAME.churn-gzip.times.
gzip_scrape_loop() {
  local name=$1 secs=$2 every=${GZIP_SCRAPE_S:-15}
  local port_var=PORT_$name
  local url=http://127.0.0.1:${!port_var}/metrics
  local end=$(( $(now_ms) + secs * 1000 )) next
  : >"$WORK/$name.churn-gzip.times"
  : >"$WORK/$name.churn-plain.times"
  while [ "$(now_ms)" -lt "$end" ]; do
    next=$(( $(now_ms) + every * 1000 ))
    curl -s --max-time 120 -o /dev/null -w '%{time_total} %{size_download}\n' \
      -H 'Accept-Encoding: gzip' "$url" >>"$WORK/$name.churn-gzip.times" || true
    # kubestate: a plain scrape right after, the same moment's reference for the gzip one
    # (KSM's would only add load: its plain scrape at 100k pods takes seconds of CPU)
    if [ "$name" = ks ]; then
      curl -s --max-time 120 -o /dev/null -w '%{time_total} %{size_download}\n' \
        "$url" >>"$WORK/$name.churn-plain.times" || true
    fi
    while [ "$(now_ms)" -lt "$next" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.2; done
  done
}
# wait_bg_loops: waits for the background jobs of this shell (the scrape loops), not for the
# long-running programs in PIDS.
wait_bg_loops() { local j; for j in $(jobs -p); do case " ${PIDS[*]} " in *" $j "*) ;; *) wait "$j" ;; esac; done; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a - b }'; }
