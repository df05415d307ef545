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
ETCD_PID=""
APISERVER_PID=""
KS_PID=""
PROM_PID=""
EXTRA_PIDS=() # kubestate instances of sharding.sh and deploy.sh
SETUP_DONE=0
T0=$SECONDS

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

# --- control plane ------------------------------------------------------------------------
# shellcheck source=tests/e2e/control_plane.sh
source "$E2E_DIR/control_plane.sh"
control_plane_up || exit 1

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
