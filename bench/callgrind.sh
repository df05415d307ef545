#!/usr/bin/env bash
# Instruction counts of the scrape path under valgrind's callgrind (exact and repeatable, unlike
# wall-clock figures on a shared machine):
#   bash bench/callgrind.sh [PODS]     # default 10000
# Runs the render-bench example (bench/render_bench.rs) once under callgrind and reports the
# inclusive instruction count (Ir) of its phases: render PODS pods into a store, one plain
# scrape of them, one gzip scrape with a cold member cache (compression included, all threads
# added up), one with a warm cache, one right after 1% of the pods changed. Generating and
# decoding the pods is outside the phases. Then runs probe-bench (bench/probe_bench.rs) the same
# way: the watch-line and LIST decode of PODS pods, unsharded and as shard 0 of 4, with the
# shard/unsharded ratios. Then event-bench (bench/event_bench.rs): EVENTS (2000) pod MODIFIED
# watch lines decoded and applied to a store the way an unsharded pods watch does.
# Writes bench/results/callgrind.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${1:-10000}
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 1; }
EVENTS=${EVENTS:-2000}
cargo build --release --locked --example render-bench --example probe-bench --example event-bench >&2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubestate-callgrind.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# One CPU: the scrape then compresses on its own thread (no helpers), so a phase's inclusive
# count holds all its work (callgrind runs threads one at a time anyway).
taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
  target/release/examples/render-bench "$PODS" >"$WORK/stdout" 2>"$WORK/stderr"
cat "$WORK/stdout" >&2
callgrind_annotate --inclusive=yes --threshold=100 "$WORK/cg.out" >"$WORK/annotated" 2>/dev/null
valgrind --tool=callgrind --callgrind-out-file="$WORK/probe.out" \
  target/release/examples/probe-bench "$PODS" >"$WORK/probe.stdout" 2>"$WORK/probe.stderr"
cat "$WORK/probe.stdout" >&2
callgrind_annotate --inclusive=yes --threshold=100 "$WORK/probe.out" >>"$WORK/annotated" 2>/dev/null
valgrind --tool=callgrind --callgrind-out-file="$WORK/event.out" \
  target/release/examples/event-bench "$EVENTS" >"$WORK/event.stdout" 2>"$WORK/event.stderr"
callgrind_annotate --inclusive=yes --threshold=100 "$WORK/event.out" >>"$WORK/annotated" 2>/dev/null
ir() { # the inclusive Ir of the function named $1 (not one whose name merely starts so)
  awk -v f="$1" '$0 ~ (f "([^A-Za-z0-9_]|$)") { gsub(/,/, "", $1); print $1; exit }' "$WORK/annotated"
}
total=$(awk '/PROGRAM TOTALS/ { gsub(/,/, "", $1); print $1; exit }' "$WORK/annotated")
mkdir -p bench/results
OUT=bench/results/callgrind.tsv
{
  printf 'commit\t%s\n' "$(git rev-parse --short HEAD)"
  # the wall-clock *_ms fields are meaningless under valgrind: left out
  sed 's/ /\n/g' "$WORK/stdout" | grep -v -e '_ms=' -e 'GBps=' | tr '=' '\t'
  printf 'ir_render\t%s\n' "$(ir render_bench::phase_render)"
  printf 'ir_scrape_plain\t%s\n' "$(ir render_bench::phase_scrape_plain)"
  printf 'ir_scrape_gzip\t%s\n' "$(ir render_bench::phase_gzip_cold)"
  printf 'ir_scrape_gzip_warm\t%s\n' "$(ir render_bench::phase_gzip_warm)"
  printf 'ir_scrape_gzip_churn\t%s\n' "$(ir render_bench::phase_gzip_churn)"
  printf 'ir_program_total\t%s\n' "$total"
  wu=$(ir probe_bench::phase_watch_unsharded)
  ws=$(ir probe_bench::phase_watch_shard)
  lu=$(ir probe_bench::phase_list_unsharded)
  ls=$(ir probe_bench::phase_list_shard)
  printf 'ir_watch_unsharded\t%s\nir_watch_shard_1of4\t%s\n' "$wu" "$ws"
  printf 'ir_list_unsharded\t%s\nir_list_shard_1of4\t%s\n' "$lu" "$ls"
  printf 'ir_list_unsharded_streaming\t%s\n' "$(ir probe_bench::phase_list_unsharded_streaming)"
  printf 'events\t%s\n' "$EVENTS"
  printf 'ir_event_total\t%s\n' "$(ir event_bench::phase_events)"
  printf 'ir_event_decode\t%s\n' "$(ir event_bench::decode_event)"
  printf 'ir_event_render_store\t%s\n' "$(ir event_bench::apply_upsert)"
  awk -v a="$ws" -v b="$wu" 'BEGIN { printf "shard_ratio_watch\t%.3f\n", a / b }'
  awk -v a="$ls" -v b="$lu" 'BEGIN { printf "shard_ratio_list\t%.3f\n", a / b }'
} >"$OUT"
cat "$OUT"
