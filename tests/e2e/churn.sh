# Churn (sourced by run.sh after scenario.sh): changes while kubestate watches, an API server
# restart with watches open, and a resume from a compacted resourceVersion (410 Gone).

CONVERGE=10 # seconds kubestate gets to reflect a change

# `eventually "what" predicate args...`: one assertion that polls for up to CONVERGE s.
eventually() {
  local what="$1"
  shift
  local t=$SECONDS
  check "$what" wait_until "$CONVERGE" "$@"
  log "  ($((SECONDS - t)) s)"
}
gone() { lacks "$1"; }

# --- create, scale, relabel, delete -----------------------------------------------------------
pod shop churn-new worker-1 '{"app":"churn"}'
pod_status shop churn-new "$(running_status)"
eventually "new pod appears" has_series kube_pod_status_phase 'pod="churn-new"' 'phase="Running"'

merge_patch /apis/apps/v1/namespaces/shop/deployments/web '{"spec":{"replicas":5}}'
eventually "deployment scale-up is reflected" \
  has_series kube_deployment_spec_replicas 'deployment="web"' '} 5'

merge_patch /api/v1/namespaces/shop/pods/web-5d9f8c-aaaaa '{"metadata":{"labels":{"tier":"frontend","app":"web"}}}'
eventually "pod relabel is reflected (allowlist pods=[*])" \
  has_series kube_pod_labels 'pod="web-5d9f8c-aaaaa"' 'label_tier="frontend"'
merge_patch /api/v1/namespaces/shop/pods/web-5d9f8c-aaaaa '{"metadata":{"labels":{"tier":null}}}'
eventually "label removal is reflected" \
  gone 'label_tier="frontend"'

api DELETE /api/v1/namespaces/shop/pods/churn-new?gracePeriodSeconds=0 >/dev/null
eventually "deleted pod disappears" gone 'pod="churn-new"'
api DELETE /api/v1/namespaces/shop/services/web-public >/dev/null
eventually "deleted service disappears" gone 'service="web-public"'

# --- API server restart with watches open ----------------------------------------------------
restart_apiserver() {
  local t=$SECONDS
  stop_pid "$APISERVER_PID"
  APISERVER_PID=""
  "$@" # whatever has to happen while the API server is down
  start_apiserver
  wait_until 90 apiserver_ready || { log "kube-apiserver did not come back"; return 1; }
  log "kube-apiserver restarted in $((SECONDS - t)) s"
}
restart_apiserver true
check "kubestate still running after the API server restart" kill -0 "$KS_PID"
pod shop after-restart worker-1 '{"app":"late"}'
create /api/v1/namespaces '{"metadata":{"name":"after-restart"}}'
CONVERGE=45 # includes kubestate's reconnect backoff
eventually "pod created after the restart appears" has_series kube_pod_info 'pod="after-restart"'
eventually "namespace created after the restart appears" \
  has_series kube_namespace_created 'namespace="after-restart"'
CONVERGE=10

# --- a 20 s API server outage -----------------------------------------------------------------
# kube-apiserver stopped for 20 s (watches cut, connections refused), then started again. A pod
# created as soon as it is ready must show within a generous bound: a liveness check, not a
# timing target (bench/outage.sh measures against the fake API server). The figures are
# printed for the record: seconds from the pod's creation to /metrics, and the requests
# kubestate saw fail meanwhile (one log line each).
OUTAGE_MARK="$(wc -l <"$E2E_TMP/kubestate.log")"
restart_apiserver sleep 20
pod shop after-outage worker-1 '{"app":"late"}'
t_pod=$(date +%s%N)
check "pod created right after a 20 s API server outage shows within 60 s" \
  wait_until 60 has_series kube_pod_info 'pod="after-outage"'
outage_log="$(tail -n +"$((OUTAGE_MARK + 1))" "$E2E_TMP/kubestate.log")"
# a request that failed logs its status or "cannot reach"; a stream cut is not a request
outage_failures="$(grep -E 'msg="(watch failed|initial sync failed)"' <<<"$outage_log" |
  grep -vc 'stream broken' || true)"
outage_probes="$(grep -o 'msg="API server serving again[^"]*".* probes=[0-9]*' <<<"$outage_log" |
  sed 's/.*probes=//' | paste -sd+ - || true)"
log "  outage: pod in /metrics $(( ($(date +%s%N) - t_pod) / 1000000 )) ms after its creation; $outage_failures requests failed during the outage; gate probes per recovery: ${outage_probes:-none}"
check "kubestate /readyz after the outage" ks_ready

# --- resume from a compacted resourceVersion --------------------------------------------------
# Freeze kubestate (its watches hold their last resourceVersion) and restart the API server, so
# its watch connections are gone before anything changes (nothing can sit in socket buffers).
# Then delete, create and scale through the fresh API server, compact etcd physically and let
# kubestate continue: its watches must get 410 Gone and re-list, and nothing deleted meanwhile
# may linger.
etcd_revision() {
  curl -sf --max-time 5 -X POST "$ETCD_URL/v3/kv/range" \
    -d "{\"key\":\"$(printf /registry/ | base64 -w0)\",\"limit\":1}" | jq -r .header.revision
}
etcd_compact() {
  local rev
  rev="$(etcd_revision)"
  [ -n "$rev" ] && [ "$rev" != null ] || return 1
  curl -sf --max-time 30 -X POST "$ETCD_URL/v3/kv/compaction" \
    -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null || return 1
  log "etcd compacted at revision $rev"
}
kill -STOP "$KS_PID"
restart_apiserver true
api DELETE /api/v1/namespaces/shop/pods/cache-0?gracePeriodSeconds=0 >/dev/null
api DELETE /api/v1/namespaces/shop/services/web >/dev/null
api DELETE /api/v1/namespaces/shop/configmaps/web-config >/dev/null
pod shop during-freeze worker-2 '{"app":"late"}'
merge_patch /apis/apps/v1/namespaces/shop/deployments/web '{"spec":{"replicas":2}}'
# Enough unrelated writes that the old revision is well behind.
for i in $(seq 1 20); do
  create /api/v1/namespaces/batch/configmaps "{\"metadata\":{\"name\":\"filler-$i\"}}"
done
check "etcd compaction through the gRPC gateway" etcd_compact
compacted_rv_is_gone() { # a watch from before the compaction is refused with 410 Gone
  local code
  code="$(curl -s --max-time 5 -o "$E2E_TMP/410.out" --cacert "$PKI/ca.crt" \
    --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "$API_URL/api/v1/namespaces/shop/configmaps?watch=1&resourceVersion=2&timeoutSeconds=1" -w '%{http_code}')"
  grep -q '"code":410' "$E2E_TMP/410.out" || [ "$code" = 410 ]
}
check "a watch from a compacted resourceVersion gets 410 Gone" compacted_rv_is_gone
KS_LOG_MARK="$(wc -l <"$E2E_TMP/kubestate.log")"
kill -CONT "$KS_PID"
CONVERGE=45
eventually "pod deleted while frozen is gone after the 410 re-list" gone 'pod="cache-0"'
eventually "service deleted while frozen is gone" gone 'service="web",'
eventually "configmap deleted while frozen is gone" gone 'configmap="web-config"'
eventually "pod created while frozen appears" has_series kube_pod_info 'pod="during-freeze"'
eventually "scale-down made while frozen is reflected" \
  has_series kube_deployment_spec_replicas 'deployment="web"' '} 2'
CONVERGE=10
relisted_pods() {
  local since
  since="$(tail -n +"$((KS_LOG_MARK + 1))" "$E2E_TMP/kubestate.log")"
  grep -Eq 'expired.*resource=pods( |$)' <<<"$since"
}
eventually "kubestate logged the expired resourceVersion and re-listed pods" relisted_pods
check "kubestate /readyz after recovery" ks_ready
