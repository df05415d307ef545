#!/usr/bin/env bash
# Checks the release path users take: a static binary (no dynamic dependencies) that starts
# in an empty root and answers /healthz, and a systemd unit that verifies and stays at an
# exposure of 2.0 or lower. Run by .ci/run (as root, for chroot).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
echo "static: building kubestate with crt-static"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --locked --release --target "$target" --bin kubestate
bin="target/$target/release/kubestate"
if ldd "$bin" 2>&1 | grep -q "=>"; then
  echo "static: FAIL: $bin has dynamic dependencies:" >&2
  ldd "$bin" >&2
  exit 1
fi
# what users ship (the image, a package) is the binary stripped of its symbol table; the
# profile keeps symbols so panics, perf and callgrind name functions
max_bytes=10000000
stripped="$(mktemp)"
strip -o "$stripped" "$bin"
bytes=$(stat -c %s "$stripped")
rm -f "$stripped"
if [ "$bytes" -gt "$max_bytes" ]; then
  echo "static: FAIL: the stripped static binary is $bytes bytes, over the $max_bytes-byte budget (bench/results/binary-size.md says where the bytes go and what was done about them)" >&2
  exit 1
fi
echo "static: ok ($bytes bytes stripped, at most $max_bytes; ldd: $(ldd "$bin" 2>&1 | head -1 | xargs))"

work=$(mktemp -d)
cleanup() { [ -n "${sim:-}" ] && kill "$sim" 2>/dev/null; [ -n "${ks:-}" ] && kill "$ks" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# an empty root holding only the binary, a kubeconfig and the CA
cargo build --locked --release --example simcluster
target/release/examples/simcluster --pods 50 --nodes 3 --kubeconfig-out "$work/kubeconfig" > "$work/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
root="$work/root"
mkdir -p "$root/etc/kubestate"
cp "$bin" "$root/kubestate"
cp "$work/kubeconfig" "$root/etc/kubestate/kubeconfig"
cp vendor-certs/ca.crt "$root/etc/kubestate/ca.crt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chroot "$root" /kubestate --kubeconfig=/etc/kubestate/kubeconfig --host=127.0.0.1 --port="$port" \
  --telemetry-host=127.0.0.1 --telemetry-port="$tport" --resources=pods,nodes > "$work/ks.log" 2>&1 &
ks=$!
ok=""
for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
if [ -z "$ok" ]; then echo "chroot: FAIL: no /healthz from kubestate in an empty root" >&2; cat "$work/ks.log" >&2; exit 1; fi
pods=$(curl -fsS "http://127.0.0.1:$port/metrics" | grep -c '^kube_pod_info{' || true)
echo "chroot: ok (healthz, readyz, $pods pods exported from an empty root)"
[ "$pods" -ge 50 ] || { echo "chroot: FAIL: expected 50 pods" >&2; exit 1; }

# the unit: verify it against the real binary path, and measure its exposure
unitdir="$work/unit"
mkdir -p "$unitdir"
sed "s|/usr/local/bin/kubestate|$PWD/$bin|" systemd/kubestate.service > "$unitdir/kubestate.service"
systemd-analyze verify "$unitdir/kubestate.service"
exposure=$(systemd-analyze security --offline=true "$unitdir/kubestate.service" 2>&1 | sed -n 's/.*Overall exposure level for kubestate.service: \([0-9.]*\).*/\1/p')
echo "systemd: verify ok, exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' || { echo "systemd: FAIL: exposure $exposure > 2.0" >&2; exit 1; }
echo "release checks: 3 passed, 0 failed"
