#!/usr/bin/env bash
# Instruction counts of the scrape path under valgrind's callgrind (exact and repeatable, unlike
# wall-clock figures on a shared machine):
#   bash bench/callgrind.sh [PODS]     # default 10000
# Runs the render-bench example (bench/render_bench.rs) once under callgrind and reports the
# inclusive instruction count (Ir) of its phases: render PODS pods into a store, one plain
# scrape of them, one gzip scrape with a cold member cache (compression included, all threads
# added up), one with a warm cache, one right after 1% of the pods changed. Generating and
# decoding the pods is outside the phases. Writes bench/results/callgrind.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${1:-10000}
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 1; }
cargo build --release --locked --example render-bench >&2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubestate-callgrind.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# One CPU: the scrape then compresses on its own thread (no helpers), so a phase's inclusive
# count holds all its work (callgrind runs threads one at a time anyway).
taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
  target/release/examples/render-bench "$PODS" >"$WORK/stdout" 2>"$WORK/stderr"
cat "$WORK/stdout" >&2
callgrind_annotate --inclusive=yes --threshold=100 "$WORK/cg.out" >"$WORK/annotated" 2>/dev/null
ir() { # the inclusive Ir of the function whose name contains $1
  awk -v f="$1" 'index($0, f) { gsub(/,/, "", $1); print $1; exit }' "$WORK/annotated"
}
total=$(awk '/PROGRAM TOTALS/ { gsub(/,/, "", $1); print $1; exit }' "$WORK/annotated")
mkdir -p bench/results
OUT=bench/results/callgrind.tsv
{
  printf 'commit\t%s\n' "$(git rev-parse --short HEAD)"
  # the wall-clock *_ms fields are meaningless under valgrind: left out
  sed 's/ /\n/g' "$WORK/stdout" | grep -v '_ms=' | tr '=' '\t'
  printf 'ir_render\t%s\n' "$(ir render_bench::phase_render)"
  printf 'ir_scrape_plain\t%s\n' "$(ir render_bench::phase_scrape_plain)"
  printf 'ir_scrape_gzip\t%s\n' "$(ir render_bench::phase_gzip_cold)"
  printf 'ir_scrape_gzip_warm\t%s\n' "$(ir render_bench::phase_gzip_warm)"
  printf 'ir_scrape_gzip_churn\t%s\n' "$(ir render_bench::phase_gzip_churn)"
  printf 'ir_program_total\t%s\n' "$total"
} >"$OUT"
cat "$OUT"
