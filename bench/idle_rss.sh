#!/usr/bin/env bash
# Where an idle kubestate's resident memory goes, beside kube-state-metrics on the same server.
#   flock /tmp/kubestate-bench.lock bash bench/idle_rss.sh        # the e2e fixture set
#   PODS=10000 NODES=300 NAMESPACES=8 WAIT_S=30 bash bench/idle_rss.sh   # any simcluster size
# simcluster serves the fixture set of tests/e2e_compat.rs (generate(), 12 pods on 3 nodes in 3
# namespaces, seed 18: 54 objects) unless PODS/NODES/NAMESPACES/SEED say otherwise; each
# program runs with its default resources, is scraped once plain and once with gzip after
# /readyz (both with --enable-gzip-encoding), then left idle WAIT_S seconds. Reported per program: VmRSS, VmHWM, threads, and RSS
# by kind of mapping from /proc/PID/smaps (thread stacks found from each thread's stack
# pointer in /proc/PID/task/TID/syscall; glibc heaps from their 64 MiB alignment). For
# kubestate also glibc's own view (mallinfo2 and the arena count), which the hidden
# KUBESTATE_MALLOC_STATS=SECONDS makes it log. CHURN=N has simcluster change N objects a second
# from its start, and SCRAPE_S=S adds a gzip scrape of each program every S seconds of the
# window (the churn case: `PODS=10000 NODES=300 NAMESPACES=8 CHURN=250 SCRAPE_S=5 WAIT_S=60 KSM=0`);
# sync_mib is VmRSS at /readyz. KS_ENV adds environment to kubestate
# (e.g. KS_ENV="KUBESTATE_MALLOC=off" measures without the allocator tuning); BASE_BIN (with
# BASE_ENV) runs a second kubestate beside it, e.g. the build before a change. KSM=0 skips KSM.
# The kubestate measured is the static release binary (as shipped), or KS_BIN; simcluster is
# a debug build unless SIM_PROFILE=release.
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${PODS:-12}
NODES=${NODES:-3}
NAMESPACES=${NAMESPACES:-2}
SEED=${SEED:-18}
WAIT_S=${WAIT_S:-10}
CHURN=${CHURN:-0}
SIM_PROFILE=${SIM_PROFILE:-debug}
TARGET=x86_64-unknown-linux-gnu
if [ "${BUILD:-1}" != 0 ]; then # BUILD=0: use the binaries as built
  [ -n "${KS_BIN:-}" ] ||
    RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --target $TARGET --bin kubestate
  sim_flag=(); [ "$SIM_PROFILE" = release ] && sim_flag=(--release)
  cargo build -q "${sim_flag[@]}" --example simcluster
fi
KS=${KS_BIN:-target/$TARGET/release/kubestate}
SIM=target/$SIM_PROFILE/examples/simcluster
KSM_BIN=${KSM_BIN:-$HOME/.cache/kubestate-bench/ksm-v2.20.0/kube-state-metrics}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$SIM" --pods "$PODS" --nodes "$NODES" --namespaces "$NAMESPACES" --seed "$SEED" \
  --churn-per-sec "$CHURN" --kubeconfig-out "$WORK/kc" >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 1200); do grep -qs "simcluster ready" "$WORK/sim.log" && break; sleep 0.1; done
grep -q "simcluster ready" "$WORK/sim.log" || { echo "simcluster did not start" >&2; cat "$WORK/sim.log" >&2; exit 1; }
objects=$(sed -n 's/.*simcluster ready.* objects=\([0-9]*\).*/\1/p' "$WORK/sim.log")

declare -A PID PORT TPORT
start() { # name binary env...
  local name=$1 bin=$2; shift 2
  PORT[$name]=$(free_port)
  TPORT[$name]=$(free_port)
  env "$@" "$bin" --kubeconfig "$WORK/kc" --host 127.0.0.1 --port "${PORT[$name]}" \
    --telemetry-host 127.0.0.1 --telemetry-port "${TPORT[$name]}" --enable-gzip-encoding \
    >"$WORK/$name.log" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
}
names=kubestate
# shellcheck disable=SC2086
start kubestate "$KS" KUBESTATE_MALLOC_STATS=1 ${KS_ENV:-}
if [ -n "${BASE_BIN:-}" ]; then # another kubestate build side by side (before/after a change)
  # shellcheck disable=SC2086
  start base "$BASE_BIN" ${BASE_ENV:-}
  names="$names base"
fi
if [ "${KSM:-1}" != 0 ] && [ -x "$KSM_BIN" ]; then
  start ksm "$KSM_BIN"
  names="$names ksm"
fi
declare -A READY_S
t0=$(date +%s%N)
for _ in $(seq 1 3000); do # up to ~5 min; every program polled each round
  pending=0
  for n in $names; do
    [ -n "${READY_S[$n]:-}" ] && continue
    kill -0 "${PID[$n]}" 2>/dev/null || { echo "$n exited" >&2; cat "$WORK/$n.log" >&2; exit 1; }
    if curl -sf "http://127.0.0.1:${TPORT[$n]}/readyz" >/dev/null; then
      READY_S[$n]=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    else
      pending=1
    fi
  done
  [ "$pending" = 0 ] && break
  sleep 0.1
done
for n in $names; do
  [ -n "${READY_S[$n]:-}" ] || { echo "$n not ready" >&2; cat "$WORK/$n.log" >&2; exit 1; }
done
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat"; }
declare -A SYNC_RSS SYNC_CPU PLAIN_MS GZIP_MS
for n in $names; do
  SYNC_RSS[$n]=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/${PID[$n]}/status")
  SYNC_CPU[$n]=$(cpu_s "${PID[$n]}")
  PLAIN_MS[$n]=$(curl -sf -o "$WORK/$n.plain" -w '%{time_total}' "http://127.0.0.1:${PORT[$n]}/metrics")
  GZIP_MS[$n]=$(curl -sf -H 'Accept-Encoding: gzip' -o "$WORK/$n.gz" -w '%{time_total}' "http://127.0.0.1:${PORT[$n]}/metrics")
done
# with churn: a gzip scrape of each program every SCRAPE_S seconds through the window
end=$(( $(date +%s) + WAIT_S ))
scrapes=0
while [ "$(date +%s)" -lt "$end" ]; do
  if [ "${SCRAPE_S:-0}" -gt 0 ]; then
    for n in $names; do
      curl -sf -H 'Accept-Encoding: gzip' -o /dev/null "http://127.0.0.1:${PORT[$n]}/metrics"
    done
    scrapes=$((scrapes + 1))
    sleep "$SCRAPE_S"
  else
    sleep 1
  fi
done

# RSS by kind of mapping, in KiB: one line of key=value per program.
breakdown() { # pid [go]
  python3 - "$@" <<'EOF'
import os, re, sys
pid = sys.argv[1]
go = len(sys.argv) > 2  # a Go program: its heap, goroutine stacks included, is all anonymous
sps = []  # each thread's stack pointer: "nr args... sp pc" while blocked in a syscall
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        f = open(f"/proc/{pid}/task/{tid}/syscall").read().split()
    except OSError:
        continue
    if len(f) >= 3 and f[0] != "running":
        sps.append(int(f[-2], 16))
exe = os.path.realpath(f"/proc/{pid}/exe")
maps, cur = [], None
for line in open(f"/proc/{pid}/smaps"):
    m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
    if m:
        cur = {"lo": int(m[1], 16), "hi": int(m[2], 16), "perm": m[3], "path": m[4], "Rss": 0}
        maps.append(cur)
    elif cur is not None and line.startswith("Rss:"):
        cur["Rss"] = int(line.split()[1])
HEAP_ALIGN = 64 << 20  # glibc's HEAP_MAX_SIZE on 64-bit: non-main arenas' heaps are aligned to it
kinds = {}
for m in maps:
    p = m["path"]
    if p == exe or p.endswith(" (deleted)") and p[:-10] == exe:
        k = "text" if "x" in m["perm"] else "binary_data"
    elif p.startswith("/"):
        k = "other_files"
    elif p == "[heap]":
        k = "brk_heap"
    elif go and not p:
        k = "go_heap"
    elif p == "[stack]" or any(m["lo"] <= sp < m["hi"] for sp in sps):
        k = "thread_stacks"
    elif p.startswith("["):
        k = "kernel"
    elif m["lo"] % HEAP_ALIGN == 0 and m["perm"].startswith("rw"):
        k = "arena_heaps"
    else:
        k = "other_anon"
    kinds[k] = kinds.get(k, 0) + m["Rss"]
order = ["text", "binary_data", "other_files", "brk_heap", "arena_heaps", "go_heap", "thread_stacks", "other_anon", "kernel"]
print(" ".join(f"{k}={kinds.get(k, 0)}" for k in order))
EOF
}
status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "objects=$objects pods=$PODS churn_per_s=$CHURN wait_s=$WAIT_S gzip_scrapes_in_window=$scrapes ks_env=${KS_ENV:-none}"
printf "%-10s %7s %8s %8s %8s %7s %s\n" program ready_s sync_mib rss_mib hwm_mib threads "breakdown (KiB)"
for n in $names; do
  p=${PID[$n]}
  printf "%-10s %7s %8s %8s %8s %7s %s plain_bytes=%s plain_s=%s gzip_bytes=%s gzip_s=%s sync_cpu_s=%s cpu_s=%s\n" "$n" \
    "${READY_S[$n]}" "$(mib "${SYNC_RSS[$n]}")" "$(mib "$(status "$p" VmRSS)")" "$(mib "$(status "$p" VmHWM)")" \
    "$(status "$p" Threads)" "$(breakdown "$p" $([ "$n" = ksm ] && echo go))" "$(stat -c %s "$WORK/$n.plain")" "${PLAIN_MS[$n]}" \
    "$(stat -c %s "$WORK/$n.gz")" "${GZIP_MS[$n]}" "${SYNC_CPU[$n]}" "$(cpu_s "$p")"
done
stats=$(grep 'msg="malloc stats"' "$WORK/kubestate.log" | tail -1 || true)
echo "kubestate glibc: ${stats:-none logged}"
