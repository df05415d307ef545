#!/usr/bin/env bash
# kubestate and kube-state-metrics v2.20.0 side by side on a real kube-apiserver (etcd +
# kube-apiserver v1.37.2 built from Go modules, as in the end-to-end suite), loaded with the
# benchmarks' simulated cluster (cluster_gen::generate through the apiserver's validation and
# admission: every object as a real server stores and serves it).
#   bash bench/real_apiserver.sh          # PODS=2000 SCRAPES=10
# Checks that both expose the same lines (sorted bodies compared; exits 1 if they differ) and
# writes bench/results/real-apiserver.tsv and .md (bench/report.py includes the .md): time to
# ready, RSS, scrape latency, plain and gzip bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh # after the e2e helpers: its log/free_port/stop_pid are the ones used here
trap cleanup EXIT
PODS=${PODS:-2000}
SCRAPES=${SCRAPES:-10}
NODES=$(( PODS / 30 )); [ "$NODES" -ge 1 ] || NODES=1
E2E_TMP=$WORK

log "building etcd and kube-apiserver (cached), kubestate, cluster-objects, kube-state-metrics"
eval "$(bash tests/e2e/build.sh)"
cargo build --release --locked --quiet --bin kubestate --example cluster-objects >&2
KSM=$(bash bench/build-ksm.sh)
[ -x "$KSM" ] || die "no kube-state-metrics binary"

# shellcheck source=tests/e2e/control_plane.sh
source tests/e2e/control_plane.sh
control_plane_up || die "control plane did not start (logs in $WORK)"
PIDS+=("$APISERVER_PID" "$ETCD_PID") # killed in this order by cleanup
API_VERSION=$(api GET /version | jq -r .gitVersion)

t=$(now_ms)
target/release/examples/cluster-objects --pods "$PODS" --nodes "$NODES" >"$WORK/objects.jsonl"
python3 bench/load_objects.py "$API_URL" "$PKI/ca.crt" "$PKI/admin.crt" "$PKI/admin.key" \
  <"$WORK/objects.jsonl" >&2 || die "the API server refused objects"
log "loaded $(wc -l <"$WORK/objects.jsonl") objects in $(( $(now_ms) - t )) ms"
PODS_SERVED=$(api GET "/api/v1/pods?limit=1" | jq -r '.metadata.remainingItemCount + 1')

OUT_TSV=bench/results/real-apiserver.tsv
mkdir -p bench/results
: >"$OUT_TSV"
bash bench/machine.sh "$KSM" "pods=$PODS nodes=$NODES scrapes=$SCRAPES apiserver=$API_VERSION" \
  >bench/results/real-apiserver.machine.json
KUBECONFIG_FILE=$ADMIN_KUBECONFIG
timeout=$(( 60 + PODS / 500 ))
start_prog ks ks
startup ks "$PODS" "$PODS_SERVED" "$timeout"
start_prog ksm ksm
startup ksm "$PODS" "$PODS_SERVED" "$timeout"
sleep 5 # kubestate's gzip members settle (rebuilt off the scrape path once nothing changes)
scrapes ks "$PODS" "$SCRAPES"
scrapes ksm "$PODS" "$SCRAPES"

# What the initial sync received from the API server, compressed (the default) and with
# --disable-compression: kubestate's own counters, summed over the resources.
api_bytes() { # NAME METRIC: sum of a kubestate_apiserver_* counter on NAME's telemetry port
  local tp=TPORT_$1
  curl -s --max-time 10 "http://127.0.0.1:${!tp}/metrics" |
    awk -v m="$2" 'index($0, m "{") == 1 { s += $2 } END { printf "%.0f\n", s }'
}
emit "$PODS" ks apiserver_received_bytes "$(api_bytes ks kubestate_apiserver_received_bytes_total)"
emit "$PODS" ks apiserver_decoded_bytes "$(api_bytes ks kubestate_apiserver_decoded_bytes_total)"
start_prog ks_plain ks --disable-compression
wait_readyz ks_plain "$timeout"
emit "$PODS" ks_plain apiserver_received_bytes "$(api_bytes ks_plain kubestate_apiserver_received_bytes_total)"
emit "$PODS" ks_plain apiserver_decoded_bytes "$(api_bytes ks_plain kubestate_apiserver_decoded_bytes_total)"
emit "$PODS" ks_plain sync_cpu_s "$(cpu_s "$PID_ks_plain")"
stop_pid "$PID_ks_plain"

# The same objects must give the same lines: compare the sorted bodies.
sort "$WORK/ks.metrics" >"$WORK/ks.sorted"
sort "$WORK/ksm.metrics" >"$WORK/ksm.sorted"
only_ks=$(comm -23 "$WORK/ks.sorted" "$WORK/ksm.sorted" | wc -l)
only_ksm=$(comm -13 "$WORK/ks.sorted" "$WORK/ksm.sorted" | wc -l)
emit "$PODS" both lines_only_in_kubestate "$only_ks"
emit "$PODS" both lines_only_in_ksm "$only_ksm"
emit "$PODS" both lines "$(wc -l <"$WORK/ks.sorted")"

python3 - "$OUT_TSV" "$API_VERSION" "$PODS_SERVED" >bench/results/real-apiserver.md <<'PY'
import sys
tsv, version, pods = sys.argv[1:4]
v = {}
for line in open(tsv):
    _, prog, metric, value = line.rstrip("\n").split("\t")
    v[(prog, metric)] = float(value)
rows = [("time to ready (s)", "ready_ms", 1e-3), ("CPU from start to ready (s)", "sync_cpu_s", 1),
        ("RSS after sync (MiB)", "rss_kib", 1 / 1024), ("scrape plain p50 (ms)", "scrape_plain_p50_ms", 1),
        ("scrape gzip p50 (ms), warm", "scrape_gzip_p50_ms", 1),
        ("exposition bytes, plain", "bytes_plain", 1), ("exposition bytes, gzip", "bytes_gzip", 1),
        ("samples", "samples", 1), ("families", "families", 1)]
out = ["## Real kube-apiserver (`bench/real_apiserver.sh`)\n",
       f"kube-apiserver {version} on etcd, loaded through its API with the benchmarks' cluster "
       f"({pods} pods, with statuses); kubestate and kube-state-metrics v2.20.0 as cluster admin, "
       "same flags as `bench/run.sh`, one after the other. Both bodies sorted and compared line "
       f"by line: {int(v[('both', 'lines')]):,} lines, {int(v[('both', 'lines_only_in_kubestate')])} only in "
       f"kubestate, {int(v[('both', 'lines_only_in_ksm')])} only in KSM.\n",
       "| figure | kubestate | KSM | ratio |", "|---|---:|---:|---:|"]
for name, key, scale in rows:
    a, b = v.get(("ks", key)), v.get(("ksm", key))
    if a is None or b is None:
        continue
    fmt = (lambda x: f"{x:,.0f}") if scale == 1 and key.startswith(("bytes", "samples", "families")) else (lambda x: f"{x:,.2f}")
    out.append(f"| {name} | {fmt(a * scale)} | {fmt(b * scale)} | {a / b:.2f} |")
rx, dec = v.get(("ks", "apiserver_received_bytes")), v.get(("ks", "apiserver_decoded_bytes"))
prx = v.get(("ks_plain", "apiserver_received_bytes"))
if rx and dec and prx:
    out.append("")
    out.append(f"Initial sync (WatchList) received from the API server, response bodies as received "
               f"(`kubestate_apiserver_received_bytes_total`, summed): {rx:,.0f} bytes compressed (the "
               f"default) for {dec:,.0f} decoded, {rx / dec:.3f}; {prx:,.0f} with `--disable-compression`. "
               f"Sync CPU {v[('ks', 'sync_cpu_s')]:.2f} s compressed, {v[('ks_plain', 'sync_cpu_s')]:.2f} s plain.")
print("\n".join(out) + "\n")
PY
cat bench/results/real-apiserver.md >&2
[ "$only_ks" -eq 0 ] && [ "$only_ksm" -eq 0 ] || die "kubestate and KSM differ: $only_ks lines only in kubestate, $only_ksm only in KSM (KEEP_WORK=1 keeps $WORK)"
