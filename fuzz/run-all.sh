#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 25) each, one after the other, starting from
# the committed seed corpus (fuzz/corpus/<target>, read only: new inputs go to a scratch
# directory). Exits non-zero if any target crashed; the crashing input is in
# fuzz/artifacts/<target>/. Usage: bash fuzz/run-all.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-25}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cargo +nightly fuzz build -O >/dev/null
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  log="$scratch/$t.log"
  if cargo +nightly fuzz run -O "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $t ok ($runs executions in ${seconds}s)"
  else
    echo "fuzz: $t FAILED; last lines:"
    tail -40 "$log"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; inputs under fuzz/artifacts/ (see fuzz/README.md)" >&2
  exit 1
fi
