#!/usr/bin/env bash
# Checks the container image users deploy: built with podman from deploy/Containerfile, its
# metadata (non-root 65534, ports 8080/8081, the binary as entrypoint), then its filesystem
# exported and the entrypoint run under chroot as UID 65534 (running containers is not
# possible everywhere CI runs): `--version`, then against the simulated API server until
# /metrics serves its pods. Also the alert rules' unit tests. Run by .ci/run as root, after
# systemd/check.sh built the static binary.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in podman promtool curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "image: FAIL: $tool not found" >&2; exit 1; }
done
passed=0

echo "alerts: promtool test rules"
promtool check rules deploy/prometheus/alerts.yaml >/dev/null
promtool test rules deploy/prometheus/alerts_test.yaml
passed=$((passed + 1))

target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" cargo build --locked --release --target "$target" --bin kubestate
strip "target/$target/release/kubestate" # as the README builds the image
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
image="localhost/kubestate:$version-ci"

work=$(mktemp -d)
ctr=""
cleanup() {
  [ -n "${sim:-}" ] && kill "$sim" 2>/dev/null
  [ -n "${ks:-}" ] && kill "$ks" 2>/dev/null
  [ -n "$ctr" ] && podman rm -f "$ctr" >/dev/null 2>&1
  podman rmi -f "$image" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

t=$SECONDS
podman build --quiet -f deploy/Containerfile -t "$image" . >/dev/null
echo "image: built $image in $((SECONDS - t)) s ($(podman image inspect "$image" --format '{{.Size}}') bytes)"

# The image's own metadata, as the kubelet reads it.
cfg="$(podman image inspect "$image" --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.ExposedPorts}}')"
want_user="65534:65534"
[ "${cfg%%|*}" = "$want_user" ] || { echo "image: FAIL: user ${cfg%%|*}, want $want_user" >&2; exit 1; }
case "$cfg" in
  *'|["/kubestate"]|'*) ;;
  *) echo "image: FAIL: entrypoint is not /kubestate: $cfg" >&2; exit 1 ;;
esac
case "$cfg" in
  *'"8080/tcp"'*'"8081/tcp"'* | *'"8081/tcp"'*'"8080/tcp"'*) ;;
  *) echo "image: FAIL: ports 8080/8081 not exposed: $cfg" >&2; exit 1 ;;
esac
echo "image: ok (user $want_user, entrypoint /kubestate, ports 8080 8081)"
passed=$((passed + 1))

# Its filesystem: the binary and nothing to run besides it.
root="$work/root"
mkdir -p "$root"
ctr="$(podman create "$image")"
podman export "$ctr" | tar -x -C "$root"
podman rm -f "$ctr" >/dev/null
ctr=""
files="$(cd "$root" && find . -type f | sort | xargs)"
[ "$files" = "./kubestate" ] || { echo "image: FAIL: files besides the binary: $files" >&2; exit 1; }
got="$(chroot --userspec=65534:65534 "$root" /kubestate --version)"
case "$got" in "kubestate"*"$version"*) ;; *) echo "image: FAIL: --version printed '$got'" >&2; exit 1 ;; esac
echo "image: ok (filesystem: /kubestate only; chroot as 65534: $got)"
passed=$((passed + 1))

# Against the simulated API server, with a token only the kubeconfig carries, as nobody.
free_port() {
  local p
  while true; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
cargo build --locked --release --example simcluster
token="image-check-$RANDOM$RANDOM"
target/release/examples/simcluster --pods 60 --nodes 3 --token "$token" \
  --kubeconfig-out "$work/kubeconfig" >"$work/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
mkdir -p "$root/etc/kubestate"
cp "$work/kubeconfig" "$root/etc/kubestate/kubeconfig"
chown -R 65534:65534 "$root/etc/kubestate"
chmod 0400 "$root/etc/kubestate/kubeconfig"
port="$(free_port)"
tport="$(free_port)"
env -i "$(command -v chroot)" --userspec=65534:65534 "$root" /kubestate --kubeconfig=/etc/kubestate/kubeconfig \
  --host=127.0.0.1 --port="$port" --telemetry-host=127.0.0.1 --telemetry-port="$tport" \
  >"$work/ks.log" 2>&1 &
ks=$!
pods=0
for _ in $(seq 300); do
  pods="$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null | grep -c '^kube_pod_info{' || true)"
  [ "$pods" -ge 60 ] && break
  sleep 0.1
done
if [ "$pods" -lt 60 ]; then
  echo "image: FAIL: /metrics served $pods of 60 pods" >&2
  tail -n 20 "$work/ks.log" >&2
  exit 1
fi
uid="$(awk '/^Uid:/ { print $2 }' "/proc/$ks/status" 2>/dev/null || true)"
# $ks is chroot's pid until it execs the binary: read the uid of what runs now.
[ "$uid" = 65534 ] || { echo "image: FAIL: running as uid '$uid', want 65534" >&2; exit 1; }
curl -fsS "http://127.0.0.1:$tport/metrics" | grep -q '^kubestate_initial_sync_mode{resource="pods"' ||
  { echo "image: FAIL: no self-metrics on the telemetry port" >&2; exit 1; }
echo "image: ok (chroot as 65534 against simcluster: $pods pods on /metrics, telemetry up)"
passed=$((passed + 1))
echo "image checks: $passed passed, 0 failed"
