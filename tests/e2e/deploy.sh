# The deployment kit (deploy/) on the real API server (sourced by run.sh after the others).
# Each variant's manifests are applied through the REST API exactly as `kubectl apply -k`
# would build them; then kubestate runs out of cluster as the manifests' ServiceAccount (a
# token from the TokenRequest API), with their RBAC and the args of the applied workload.
# Needs: run.sh's helpers and variables, and the cluster scenario.sh built.

log "deploy kit: building the manifests tool"
(cd "$REPO" && cargo build --release --locked --quiet --example manifests)
MANIFESTS_BIN="$REPO/target/release/examples/manifests"
NS=kube-system

# Applies deploy/<variant>; remembers what it created for remove_variant.
APPLIED=()
apply_variant() { # <variant>
  local line path obj name
  APPLIED=()
  "$MANIFESTS_BIN" "$REPO/deploy/$1" >"$E2E_TMP/deploy-$1.jsonl" || return 1
  while read -r line; do
    path="$(jq -r .path <<<"$line")"
    obj="$(jq -c .object <<<"$line")"
    name="$(jq -r .object.metadata.name <<<"$line")"
    api POST "$path" "$obj" >/dev/null || return 1
    APPLIED+=("$path/$name")
  done <"$E2E_TMP/deploy-$1.jsonl"
  [ "${#APPLIED[@]}" -ge 5 ]
}
remove_variant() {
  local p
  for p in "${APPLIED[@]}"; do api DELETE "$p" >/dev/null || true; done
  APPLIED=()
  # The ServiceAccount is gone once its deletion is visible (its tokens are then invalid).
  wait_until 30 sa_absent || true
}
sa_absent() { ! api GET "/api/v1/namespaces/$NS/serviceaccounts/kubestate" >/dev/null 2>&1; }

# A bound token of a ServiceAccount in kube-system.
sa_token() { # <serviceaccount>
  api POST "/api/v1/namespaces/$NS/serviceaccounts/$1/token" \
    '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}' |
    jq -r .status.token
}

# The workload's container args as the kubelet would pass them (downward API substituted).
workload_args() { # <collection path/name> <pod name> <node name>
  api GET "$1" | jq -r --arg pod "$2" --arg ns "$NS" --arg node "$3" '
    .spec.template.spec.containers[0] as $c
    | ([$c.env // [] | .[] | {key: .name, value: (
        if .valueFrom.fieldRef.fieldPath == "metadata.name" then $pod
        elif .valueFrom.fieldRef.fieldPath == "metadata.namespace" then $ns
        elif .valueFrom.fieldRef.fieldPath == "spec.nodeName" then $node
        else (.value // "") end)}] | from_entries) as $env
    | ($c.args // [])[]
    | reduce ($env | to_entries[]) as $e (.; gsub("\\$\\(" + $e.key + "\\)"; $e.value))'
}

DEPLOY_PORT=""
DEPLOY_TPORT=""
DEPLOY_LOG=""
# Runs kubestate as the ServiceAccount with the given args; waits until ready.
run_as_sa() { # <name> <token> args...
  local name="$1" token="$2"
  shift 2
  local kc="$E2E_TMP/deploy-$name.kubeconfig"
  write_kubeconfig "$kc" "    token: $token"
  DEPLOY_PORT="$(free_port)"
  DEPLOY_TPORT="$(free_port)"
  DEPLOY_LOG="$E2E_TMP/kubestate-deploy-$name.log"
  "$KUBESTATE_BIN" --kubeconfig "$kc" --host 127.0.0.1 --port "$DEPLOY_PORT" \
    --telemetry-host 127.0.0.1 --telemetry-port "$DEPLOY_TPORT" "$@" >"$DEPLOY_LOG" 2>&1 &
  EXTRA_PIDS+=("$!")
  wait_until 60 deploy_ready
}
deploy_ready() { curl -sf --max-time 2 "http://127.0.0.1:$DEPLOY_PORT/readyz" >/dev/null; }
stop_instances() {
  local p
  for p in "${EXTRA_PIDS[@]}"; do stop_pid "$p"; done
  EXTRA_PIDS=()
}
TELEMETRY_TOKEN="" # the auth-filter variant's telemetry port wants one too
telemetry() {
  local auth=()
  [ -n "$TELEMETRY_TOKEN" ] && auth=(-H "Authorization: Bearer $TELEMETRY_TOKEN")
  curl -sf --max-time 10 "${auth[@]}" "http://127.0.0.1:$DEPLOY_TPORT/metrics"
}

never_forbidden_in() { ! grep -Eqi 'forbidden|HTTP 403|status 403' "$1"; }
no_errors_in() { ! grep -q 'level=error' "$1"; }
# No list or watch kubestate made failed (and it made some: a streamed initial sync counts
# as a watch, a paginated one as a list).
no_list_errors() {
  local t
  t="$(telemetry)" || return 1
  grep -Eq '^kube_state_metrics_(list|watch)_total\{.*result="success"\} [1-9]' <<<"$t" &&
    ! grep -Eq '^kube_state_metrics_(list|watch)_total\{.*result="error"\} [1-9]' <<<"$t"
}
# Each resource of the args (default: every default resource) has synced: one initial sync
# per resource on the telemetry port, none reported unserved or failing.
all_synced() { # <expected resources, comma-separated>
  local t want got
  t="$(telemetry)" || return 1
  want="$(tr ',' '\n' <<<"$1" | sort -u)"
  got="$(sed -n 's/^kubestate_initial_sync_mode{resource="\([^"]*\)".*/\1/p' <<<"$t" |
    sed 's/@.*//; s/(.*//' | sort -u)"
  [ "$want" = "$got" ] || { log "synced: $(xargs <<<"$got") / want: $(xargs <<<"$want")"; return 1; }
}
# The SA can do what kubestate needs and nothing it does not: no get of one object, no create.
sa_get_forbidden() { # <token> <path>
  local code
  code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" \
    -H "Authorization: Bearer $1" "$API_URL$2")"
  [ "$code" = 403 ]
}
sa_create_forbidden() { # <token> <collection>
  local code
  code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -X POST \
    --data '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"x"}}' \
    "$API_URL$2")"
  [ "$code" = 403 ]
}
scrape_code() { # <port> <path> [token]
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  curl -s --max-time 10 -o "$E2E_TMP/deploy-scrape.out" -w '%{http_code}' "${auth[@]}" \
    "http://127.0.0.1:$1$2"
}
scrape_ok_with() { # <port> <token>
  [ "$(scrape_code "$1" /metrics "$2")" = 200 ] && grep -q '^kube_pod_info{' "$E2E_TMP/deploy-scrape.out"
}
scrape_refused() { # <port> <want code> [token]
  [ "$(scrape_code "$1" /metrics "${3:-}")" = "$2" ]
}

# The default resources: with no flags, `kubestate rbac` has a list/watch rule for each.
DEFAULT_RESOURCES="$("$KUBESTATE_BIN" rbac | sed -n 's/^  resources: \[\(.*\)\]/\1/p' | tr -d ' ' | paste -sd,)"

# --- standard ------------------------------------------------------------------------------
t=$SECONDS
check "deploy/standard: manifests applied to the real API server" apply_variant standard
SA_TOKEN="$(sa_token kubestate)"
mapfile -t ARGS < <(workload_args "/apis/apps/v1/namespaces/$NS/deployments/kubestate" kubestate-0 worker-1)
check "deploy/standard: kubestate ready as the manifests' ServiceAccount (args: ${ARGS[*]:-none})" \
  run_as_sa standard "$SA_TOKEN" "${ARGS[@]}"
check "deploy/standard: every default resource synced" wait_until 30 all_synced "$DEFAULT_RESOURCES"
check "deploy/standard: kube_state_metrics_list_total{result=\"error\"} is 0" no_list_errors
check "deploy/standard: no 403 in kubestate's log" never_forbidden_in "$DEPLOY_LOG"
check "deploy/standard: no errors in kubestate's log" no_errors_in "$DEPLOY_LOG"
check "deploy/standard: the ServiceAccount cannot get one secret (list/watch only)" \
  sa_get_forbidden "$SA_TOKEN" /api/v1/namespaces/shop/secrets/none
check "deploy/standard: the ServiceAccount cannot create token reviews (no --auth-filter)" \
  sa_create_forbidden "$SA_TOKEN" /apis/authentication.k8s.io/v1/tokenreviews
stop_instances
remove_variant
log "deploy/standard done in $((SECONDS - t)) s"

# --- autosharding ------------------------------------------------------------------------------
# A real StatefulSet (replicas 2) and, since no controller runs here, its two pods written by
# hand with the controller owner reference the StatefulSet controller would set.
shard_pod() { # <name> <sts uid>
  create "/api/v1/namespaces/$NS/pods" "{\"metadata\":{\"name\":\"$1\",\"labels\":{\"app.kubernetes.io/name\":\"kubestate\"},
    \"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"name\":\"kubestate\",\"uid\":\"$2\",\"controller\":true,\"blockOwnerDeletion\":true}]},
    \"spec\":{\"serviceAccountName\":\"kubestate\",\"containers\":[{\"name\":\"kubestate\",\"image\":\"kubestate:0.1.0\"}]}}"
}
shard_is() { # <port> <ordinal> <total>
  local t
  t="$(curl -sf --max-time 10 "http://127.0.0.1:$1/metrics")" || return 1
  grep -Fxq "kube_state_metrics_shard_ordinal{shard_ordinal=\"$2\"} $2" <<<"$t" &&
    grep -Fxq "kube_state_metrics_total_shards $3" <<<"$t"
}
pod_lines() { # <port>: the kube_pod_info lines it exports
  curl -sf --max-time 10 "http://127.0.0.1:$1/metrics" | grep '^kube_pod_info{' | sort
}
# Both shards together export every pod exactly once, and each exports some.
shards_partition_pods() { # <port0> <port1>
  local a b all
  a="$(pod_lines "$1")" && b="$(pod_lines "$2")" || return 1
  all="$(api GET /api/v1/pods | jq '.items | length')"
  [ -n "$a" ] && [ -n "$b" ] &&
    [ "$(sort -u <<<"$a"$'\n'"$b" | wc -l)" = "$all" ] &&
    [ "$(($(wc -l <<<"$a") + $(wc -l <<<"$b")))" = "$all" ]
}

t=$SECONDS
check "deploy/autosharding: manifests applied to the real API server" apply_variant autosharding
STS_PATH="/apis/apps/v1/namespaces/$NS/statefulsets/kubestate"
STS_UID="$(api GET "$STS_PATH" | jq -r .metadata.uid)"
shard_pod kubestate-0 "$STS_UID" && shard_pod kubestate-1 "$STS_UID"
SA_TOKEN="$(sa_token kubestate)"
mapfile -t ARGS0 < <(workload_args "$STS_PATH" kubestate-0 worker-1)
mapfile -t ARGS1 < <(workload_args "$STS_PATH" kubestate-1 worker-2)
check "deploy/autosharding: shard 0 ready as the ServiceAccount (args: ${ARGS0[*]})" \
  run_as_sa shard0 "$SA_TOKEN" "${ARGS0[@]}"
S0_PORT="$DEPLOY_PORT" S0_TPORT="$DEPLOY_TPORT" S0_LOG="$DEPLOY_LOG"
check "deploy/autosharding: shard 1 ready as the ServiceAccount (args: ${ARGS1[*]})" \
  run_as_sa shard1 "$SA_TOKEN" "${ARGS1[@]}"
S1_PORT="$DEPLOY_PORT" S1_TPORT="$DEPLOY_TPORT" S1_LOG="$DEPLOY_LOG"
check "deploy/autosharding: ordinals from the pod names, total from the StatefulSet (0/2, 1/2)" \
  eval 'shard_is "$S0_TPORT" 0 2 && shard_is "$S1_TPORT" 1 2'
check "deploy/autosharding: every default resource synced on shard 0" \
  wait_until 30 all_synced "$DEFAULT_RESOURCES"
check "deploy/autosharding: the two shards export every pod exactly once" \
  wait_until 20 shards_partition_pods "$S0_PORT" "$S1_PORT"
# The name-restricted watch of its StatefulSet: a scale-up reaches both instances.
merge_patch "$STS_PATH" '{"spec":{"replicas":3}}'
check "deploy/autosharding: StatefulSet scaled to 3 -> both shards follow (watch allowed)" \
  wait_until 30 eval 'shard_is "$S0_TPORT" 0 3 && shard_is "$S1_TPORT" 1 3'
DEPLOY_TPORT="$S0_TPORT"
check "deploy/autosharding: no list/watch errors" no_list_errors
check "deploy/autosharding: no 403 in either shard's log" \
  eval 'never_forbidden_in "$S0_LOG" && never_forbidden_in "$S1_LOG"'
check "deploy/autosharding: no errors in either shard's log" \
  eval 'no_errors_in "$S0_LOG" && no_errors_in "$S1_LOG"'
create "/apis/apps/v1/namespaces/$NS/statefulsets" '{"metadata":{"name":"other"},"spec":{"serviceName":"other",
  "selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}},
  "spec":{"containers":[{"name":"c","image":"busybox"}]}}}}'
check "deploy/autosharding: the Role reads its own StatefulSet only (get another -> 403)" \
  sa_get_forbidden "$SA_TOKEN" "/apis/apps/v1/namespaces/$NS/statefulsets/other"
stop_instances
api DELETE "/apis/apps/v1/namespaces/$NS/statefulsets/other" >/dev/null || true
api DELETE "/api/v1/namespaces/$NS/pods/kubestate-0?gracePeriodSeconds=0" >/dev/null || true
api DELETE "/api/v1/namespaces/$NS/pods/kubestate-1?gracePeriodSeconds=0" >/dev/null || true
remove_variant
log "deploy/autosharding done in $((SECONDS - t)) s"

# --- --auth-filter -----------------------------------------------------------------------------
t=$SECONDS
check "deploy/auth-filter: manifests applied to the real API server" apply_variant auth-filter
SA_TOKEN="$(sa_token kubestate)"
# The "scraper" here is kubestate's own ServiceAccount, bound to the kit's metrics-reader role;
# a second account without any binding stands for a token that may not read /metrics.
create /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{"metadata":{"name":"kubestate-e2e-scraper"},
  "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"kubestate-metrics-reader"},
  "subjects":[{"kind":"ServiceAccount","name":"kubestate","namespace":"kube-system"}]}'
create "/api/v1/namespaces/$NS/serviceaccounts" '{"metadata":{"name":"kubestate-e2e-norbac"}}'
NORBAC_TOKEN="$(sa_token kubestate-e2e-norbac)"
mapfile -t ARGS < <(workload_args "/apis/apps/v1/namespaces/$NS/deployments/kubestate" kubestate-0 worker-1)
check "deploy/auth-filter: kubestate ready as the ServiceAccount (args: ${ARGS[*]})" \
  run_as_sa auth "$SA_TOKEN" "${ARGS[@]}"
TELEMETRY_TOKEN="$SA_TOKEN"
check "deploy/auth-filter: every default resource synced" wait_until 30 all_synced "$DEFAULT_RESOURCES"
check "deploy/auth-filter: a scrape with the ServiceAccount's token is authorised (200, pods)" \
  wait_until 20 scrape_ok_with "$DEPLOY_PORT" "$SA_TOKEN"
check "deploy/auth-filter: ... on the telemetry port too" \
  eval '[ "$(scrape_code "$DEPLOY_TPORT" /metrics "$SA_TOKEN")" = 200 ]'
check "deploy/auth-filter: a token without RBAC is refused (403)" \
  scrape_refused "$DEPLOY_PORT" 403 "$NORBAC_TOKEN"
check "deploy/auth-filter: no token is refused (401)" scrape_refused "$DEPLOY_PORT" 401
check "deploy/auth-filter: probes stay open (/livez, telemetry /readyz without a token)" \
  eval '[ "$(scrape_code "$DEPLOY_PORT" /livez)" = 200 ] && [ "$(scrape_code "$DEPLOY_TPORT" /readyz)" = 200 ]'
check "deploy/auth-filter: no list/watch errors" no_list_errors
check "deploy/auth-filter: no 403 from the API server in kubestate's log" never_forbidden_in "$DEPLOY_LOG"
TELEMETRY_TOKEN=""
stop_instances
api DELETE /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubestate-e2e-scraper >/dev/null || true
api DELETE "/api/v1/namespaces/$NS/serviceaccounts/kubestate-e2e-norbac" >/dev/null || true
remove_variant
log "deploy/auth-filter done in $((SECONDS - t)) s"

# --- per-node pods -------------------------------------------------------------------------------
t=$SECONDS
check "deploy/daemonsetsharding: manifests applied to the real API server" apply_variant daemonsetsharding
SA_TOKEN="$(sa_token kubestate)"
mapfile -t ARGS < <(workload_args "/apis/apps/v1/namespaces/$NS/daemonsets/kubestate-shard" kubestate-shard-x7k2p worker-1)
check "deploy/daemonsetsharding: the DaemonSet's pod ready as the ServiceAccount (args: ${ARGS[*]})" \
  run_as_sa node "$SA_TOKEN" "${ARGS[@]}"
only_node_pods() {
  local lines
  lines="$(pod_lines "$DEPLOY_PORT")" || return 1
  [ -n "$lines" ] && ! grep -v 'node="worker-1"' <<<"$lines" >/dev/null
}
check "deploy/daemonsetsharding: it exports the pods of its node only" wait_until 20 only_node_pods
check "deploy/daemonsetsharding: no list/watch errors, no 403" \
  eval 'no_list_errors && never_forbidden_in "$DEPLOY_LOG"'
stop_instances
remove_variant
log "deploy/daemonsetsharding done in $((SECONDS - t)) s"
