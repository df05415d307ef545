#!/usr/bin/env bash
# Builds kube-state-metrics (the Go reference implementation) from its Go module into a cache
# directory, for side-by-side benchmarks. Prints the binary's path on stdout.
#   bash bench/build-ksm.sh            # -> $KUBESTATE_BENCH_CACHE/ksm-v2.20.0/kube-state-metrics
# Skips the build when the binary is already cached. Nothing is written inside the repository.
set -euo pipefail
KSM_VERSION=${KSM_VERSION:-v2.20.0}
cache=${KUBESTATE_BENCH_CACHE:-$HOME/.cache/kubestate-bench}
out="$cache/ksm-$KSM_VERSION"
bin="$out/kube-state-metrics"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "build-ksm: go not found in PATH" >&2; exit 1; }
mkdir -p "$out"
log="$out/build.log"
echo "build-ksm: building kube-state-metrics $KSM_VERSION (about 90 s; log: $log)" >&2
# `go install ...@version` fails here (it asks the proxy for version lists) and a wrapper module
# cannot import KSM's internal packages: download the module, copy it out, build in the copy.
dir=$(go mod download -json "k8s.io/kube-state-metrics/v2@$KSM_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -n "$dir" ] && [ -d "$dir" ] || { echo "build-ksm: go mod download gave no Dir" >&2; exit 1; }
src="$out/src"
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
(
  cd "$src"
  # Version stamps as KSM's Makefile sets them (github.com/prometheus/common/version).
  pkg=github.com/prometheus/common/version
  CGO_ENABLED=0 go build -o "$bin.tmp" \
    -ldflags "-s -w -X $pkg.Version=${KSM_VERSION#v} -X $pkg.Revision=module-proxy -X $pkg.Branch=release" \
    .
) >"$log" 2>&1 || { echo "build-ksm: go build failed, see $log" >&2; tail -20 "$log" >&2; exit 1; }
mv "$bin.tmp" "$bin"
rm -rf "$src"
echo "$bin"
