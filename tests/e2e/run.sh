#!/usr/bin/env bash
# End-to-end suite: a real etcd + kube-apiserver (built from Go modules by build.sh), kubestate
# (release build) against it with a ServiceAccount token, and Debian's Prometheus scraping
# kubestate. Everything listens on 127.0.0.1 only and is torn down on exit.
#
#   bash tests/e2e/run.sh
#
# Needs: go (>= 1.26, module proxy reachable), cargo, openssl, curl, jq, prometheus + promtool.
# The last line printed is `N passed, M failed`; the exit status is non-zero on any failure.
# KUBESTATE_E2E_KEEP=1 keeps the temp dir (logs, PKI, kubeconfigs) for inspection.
set -euo pipefail

E2E_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$E2E_DIR/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"

E2E_TMP="$(mktemp -d "${TMPDIR:-/tmp}/kubestate-e2e.XXXXXX")"
PKI="$E2E_TMP/pki"
ETCD_PID=""
APISERVER_PID=""
KS_PID=""
PROM_PID=""
EXTRA_PIDS=() # kubestate instances of sharding.sh and deploy.sh
SETUP_DONE=0
T0=$SECONDS

stop_pid() { # <pid>: TERM, then KILL after 10 s
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.2
  done
  log "pid $pid did not stop within 10 s of SIGTERM; SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

teardown() {
  local rc=$?
  set +e
  stop_pid "$PROM_PID"
  for p in "${EXTRA_PIDS[@]}"; do stop_pid "$p"; done
  [ -n "$KS_PID" ] && kill -CONT "$KS_PID" 2>/dev/null
  stop_pid "$KS_PID"
  stop_pid "$APISERVER_PID"
  stop_pid "$ETCD_PID"
  if [ "$rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
    # Aborted outside an assertion (a setup step failed): that is a failure too.
    FAILED=$((FAILED + 1))
    FAILURES+=("setup aborted (exit $rc)")
  fi
  if [ "$FAILED" -gt 0 ]; then
    for f in "${FAILURES[@]}"; do echo "failed: $f" >&2; done
    for l in "$E2E_TMP"/*.log; do
      [ -f "$l" ] || continue
      echo "---- tail of $(basename "$l")" >&2
      tail -n 25 "$l" >&2
    done
  fi
  if [ "${KUBESTATE_E2E_KEEP:-0}" = 1 ]; then
    log "kept $E2E_TMP"
  else
    rm -rf "$E2E_TMP"
  fi
  log "total $((SECONDS - T0)) s"
  echo "$PASSED passed, $FAILED failed"
  if [ "$FAILED" -gt 0 ]; then exit 1; fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

for tool in go cargo openssl curl jq prometheus promtool; do
  command -v "$tool" >/dev/null 2>&1 || { log "missing tool: $tool"; exit 1; }
done

# --- binaries ---------------------------------------------------------------------------
t=$SECONDS
eval "$(bash "$E2E_DIR/build.sh")"
log "control-plane binaries ready in $((SECONDS - t)) s"
t=$SECONDS
(cd "$REPO" && cargo build --release --locked --quiet)
KUBESTATE_BIN="$REPO/target/release/kubestate"
log "kubestate release build ready in $((SECONDS - t)) s"

# --- PKI --------------------------------------------------------------------------------
make_pki() {
  mkdir -p "$PKI"
  cd "$PKI"
  local days=2
  openssl ecparam -name prime256v1 -genkey -noout -out ca.ec 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in ca.ec -out ca.key
  openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=kubestate-e2e-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt 2>/dev/null

  leaf() { # <name> <subject> <extfile contents>
    openssl ecparam -name prime256v1 -genkey -noout -out "$1.ec" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$1.ec" -out "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
      -days "$days" -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  }
  leaf apiserver "/CN=kube-apiserver" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"
  leaf admin "/O=system:masters/CN=kubestate-e2e-admin" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  # ServiceAccount token signing key (RS256).
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
  openssl pkey -in sa.key -pubout -out sa.pub
  cd - >/dev/null
}
t=$SECONDS
make_pki
log "PKI ready in $((SECONDS - t)) s"

# --- etcd ---------------------------------------------------------------------------------
ETCD_PORT="$(free_port)"
ETCD_PEER_PORT="$(free_port)"
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
"$ETCD_BIN" --name e2e --data-dir "$E2E_TMP/etcd" \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
  --log-level warn >"$E2E_TMP/etcd.log" 2>&1 &
ETCD_PID=$!
etcd_healthy() { [[ "$(curl -sf --max-time 2 "$ETCD_URL/health")" == *'"health":"true"'* ]]; }
wait_until 30 etcd_healthy || { log "etcd did not become healthy"; exit 1; }
log "etcd up on $ETCD_URL"

# --- kube-apiserver -----------------------------------------------------------------------
API_PORT="$(free_port)"
API_URL="https://127.0.0.1:$API_PORT"
start_apiserver() {
  "$KUBE_APISERVER_BIN" \
    --etcd-servers "$ETCD_URL" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --endpoint-reconciler-type none \
    --cert-dir "$E2E_TMP/apiserver-certs" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-key-file "$PKI/sa.pub" \
    --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer "https://kubernetes.default.svc" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --authorization-mode RBAC \
    --feature-gates=ShardedListAndWatch=true \
    --profiling=false \
    >>"$E2E_TMP/kube-apiserver.log" 2>&1 &
  APISERVER_PID=$!
}
apiserver_ready() {
  [ "$(curl -sf --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "$API_URL/readyz")" = ok ]
}
t=$SECONDS
start_apiserver
wait_until 90 apiserver_ready || { log "kube-apiserver did not become ready"; exit 1; }
log "kube-apiserver $(api GET /version | jq -r .gitVersion) ready on $API_URL in $((SECONDS - t)) s"

# --- kubeconfigs ----------------------------------------------------------------------------
b64() { base64 -w0 <"$1"; }
write_kubeconfig() { # <file> <user yaml lines>
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $API_URL
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: e2e
  user:
$2
contexts:
- name: e2e
  context:
    cluster: e2e
    user: e2e
current-context: e2e
EOF
}
ADMIN_KUBECONFIG="$E2E_TMP/admin.kubeconfig"
write_kubeconfig "$ADMIN_KUBECONFIG" "    client-certificate-data: $(b64 "$PKI/admin.crt")
    client-key-data: $(b64 "$PKI/admin.key")"

# A ServiceAccount with read-only list/watch on every resource kubestate knows (taken from
# its resource tables), and a bound token from the TokenRequest API.
rbac_rules() {
  awk '/group: "/ { g = $2; gsub(/[",]/, "", g) }
       /plural: "/ { p = $2; gsub(/[",]/, "", p); print g " " p }' "$REPO/src/kube/resources.rs" "$REPO/src/metrics/mod.rs" |
    jq -R -s -c 'split("\n") | map(select(length > 0) | split(" ")) |
      group_by(.[0]) | map({apiGroups: [.[0][0]], resources: map(.[1]) | unique,
      verbs: ["list", "watch"]})'
}
RULES="$(rbac_rules)"
[ "$(jq length <<<"$RULES")" -ge 5 ] || { log "could not read kubestate's resource table"; exit 1; }
# (Named kubestate-e2e: deploy.sh applies the deployment kit's own "kubestate" objects.)
create /api/v1/namespaces/kube-system/serviceaccounts \
  '{"metadata":{"name":"kubestate-e2e","namespace":"kube-system"}}'
create /apis/rbac.authorization.k8s.io/v1/clusterroles \
  "{\"metadata\":{\"name\":\"kubestate-e2e\"},\"rules\":$RULES}"
create /apis/rbac.authorization.k8s.io/v1/clusterrolebindings \
  '{"metadata":{"name":"kubestate-e2e"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"kubestate-e2e"},"subjects":[{"kind":"ServiceAccount","name":"kubestate-e2e","namespace":"kube-system"}]}'
TOKEN="$(api POST /api/v1/namespaces/kube-system/serviceaccounts/kubestate-e2e/token \
  '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":7200}}' |
  jq -r .status.token)"
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { log "TokenRequest returned no token"; exit 1; }
TOKEN_KUBECONFIG="$E2E_TMP/token.kubeconfig"
write_kubeconfig "$TOKEN_KUBECONFIG" "    token: $TOKEN"
SETUP_DONE=1

token_can_list_pods() {
  curl -sf --max-time 5 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $TOKEN" \
    "$API_URL/api/v1/pods?limit=1" >/dev/null
}
token_cannot_create() {
  local code
  code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -X POST \
    --data '{"metadata":{"name":"nope"}}' "$API_URL/api/v1/namespaces")"
  [ "$code" = 403 ]
}
check "service-account token lists pods" token_can_list_pods
check "service-account token is read-only (create namespace -> 403)" token_cannot_create

# --- the scenario -----------------------------------------------------------------------------
# shellcheck source=tests/e2e/scenario.sh
source "$E2E_DIR/scenario.sh"
# shellcheck source=tests/e2e/sharding.sh
source "$E2E_DIR/sharding.sh"
# shellcheck source=tests/e2e/apigz.sh
source "$E2E_DIR/apigz.sh"
# shellcheck source=tests/e2e/churn.sh
source "$E2E_DIR/churn.sh"
# shellcheck source=tests/e2e/prometheus.sh
source "$E2E_DIR/prometheus.sh"
# shellcheck source=tests/e2e/deploy.sh
source "$E2E_DIR/deploy.sh"
