# The scenario (sourced by run.sh): builds a small but realistic cluster through the API —
# there is no controller-manager, scheduler or kubelet, so ReplicaSets, pod placement and
# every status are written here — then runs kubestate with the ServiceAccount token and
# checks its exposition.

NOW="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
EARLIER="$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)"
SECRET_VALUE="e2e-s3cr3t-do-not-leak"
SECRET_B64="$(printf %s "$SECRET_VALUE" | base64 -w0)"

uid_of() { api GET "$1" | jq -r .metadata.uid; }

namespace() { # <name> [labels json]
  create /api/v1/namespaces "$(jq -nc --arg n "$1" --argjson l "${2:-{\}}" \
    '{metadata: {name: $n, labels: $l}}')"
  # ServiceAccount admission refuses pods until the namespace's "default" account exists.
  create "/api/v1/namespaces/$1/serviceaccounts" '{"metadata":{"name":"default"}}'
}

node() { # <name> <ip> <cpu> <memory> <ready: True|False>
  create /api/v1/nodes "$(jq -nc --arg n "$1" '{metadata: {name: $n,
    labels: {"kubernetes.io/hostname": $n, "kubernetes.io/os": "linux",
             "node-role.kubernetes.io/worker": ""}},
    spec: {podCIDR: "10.244.0.0/24", providerID: ("e2e://" + $n)}}')"
  merge_patch "/api/v1/nodes/$1/status" "$(jq -nc --arg ip "$2" --arg cpu "$3" --arg mem "$4" \
    --arg ready "$5" --arg now "$NOW" '{status: {
      capacity: {cpu: $cpu, memory: $mem, pods: "110", "ephemeral-storage": "100Gi"},
      allocatable: {cpu: $cpu, memory: $mem, pods: "110", "ephemeral-storage": "90Gi"},
      conditions: [
        {type: "Ready", status: $ready, reason: "KubeletReady", message: "e2e",
         lastHeartbeatTime: $now, lastTransitionTime: $now},
        {type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory",
         lastHeartbeatTime: $now, lastTransitionTime: $now}],
      addresses: [{type: "InternalIP", address: $ip}, {type: "Hostname", address: "e2e"}],
      nodeInfo: {machineID: "m", systemUUID: "s", bootID: "b", kernelVersion: "6.1.0",
        osImage: "Debian GNU/Linux 12", containerRuntimeVersion: "containerd://1.7.0",
        kubeletVersion: "v1.37.2", kubeProxyVersion: "", operatingSystem: "linux",
        architecture: "amd64"}}}')"
}

# pod <ns> <name> <node> <labels json> [ownerReferences json]
pod() {
  create "/api/v1/namespaces/$1/pods" "$(jq -nc --arg n "$2" --arg node "$3" --argjson l "$4" \
    --argjson o "${5:-[]}" '{metadata: {name: $n, labels: $l, ownerReferences: $o},
    spec: {nodeName: $node, restartPolicy: "Always",
      containers: [{name: "app", image: "registry.example/app:1.0",
        resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {memory: "256Mi"}}}]}}')"
}

# pod_status <ns> <name> <status json>: the kubelet's part, through /status.
pod_status() { merge_patch "/api/v1/namespaces/$1/pods/$2/status" "{\"status\":$3}"; }

running_status() { # [restarts] [lastState json]
  jq -nc --arg now "$NOW" --arg t0 "$EARLIER" --argjson r "${1:-0}" --argjson last "${2:-{\}}" '{
    phase: "Running", hostIP: "10.0.0.11", podIP: "10.244.0.10", startTime: $t0,
    conditions: [{type: "Ready", status: "True", lastTransitionTime: $now},
                 {type: "PodScheduled", status: "True", lastTransitionTime: $t0}],
    containerStatuses: [{name: "app", image: "registry.example/app:1.0",
      imageID: "registry.example/app@sha256:0123", containerID: "containerd://abc",
      ready: true, started: true, restartCount: $r,
      state: {running: {startedAt: $now}}, lastState: $last}]}'
}

owner() { # <apiVersion> <kind> <name> <uid>
  jq -nc --arg a "$1" --arg k "$2" --arg n "$3" --arg u "$4" \
    '[{apiVersion: $a, kind: $k, name: $n, uid: $u, controller: true, blockOwnerDeletion: true}]'
}

build_cluster() {
  namespace shop '{"team":"storefront"}'
  namespace batch '{"team":"data"}'

  node worker-1 10.0.0.11 4 16Gi True
  node worker-2 10.0.0.12 8 32Gi False

  # Deployment web (3 replicas) -> ReplicaSet -> 3 pods: two running, one pending.
  create /apis/apps/v1/namespaces/shop/deployments '{"metadata":{"name":"web","labels":{"app":"web"}},
    "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
    "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"registry.example/app:1.0"}]}}}}'
  local dep_uid rs_uid
  dep_uid="$(uid_of /apis/apps/v1/namespaces/shop/deployments/web)"
  create /apis/apps/v1/namespaces/shop/replicasets "$(jq -nc --argjson o \
    "$(owner apps/v1 Deployment web "$dep_uid")" '{metadata: {name: "web-5d9f8c", ownerReferences: $o,
      labels: {app: "web", "pod-template-hash": "5d9f8c"}},
    spec: {replicas: 3, selector: {matchLabels: {app: "web", "pod-template-hash": "5d9f8c"}},
      template: {metadata: {labels: {app: "web", "pod-template-hash": "5d9f8c"}},
        spec: {containers: [{name: "app", image: "registry.example/app:1.0"}]}}}}')"
  rs_uid="$(uid_of /apis/apps/v1/namespaces/shop/replicasets/web-5d9f8c)"
  local rs_owner
  rs_owner="$(owner apps/v1 ReplicaSet web-5d9f8c "$rs_uid")"
  local p
  for p in web-5d9f8c-aaaaa web-5d9f8c-bbbbb web-5d9f8c-ccccc; do
    pod shop "$p" worker-1 '{"app":"web","pod-template-hash":"5d9f8c"}' "$rs_owner"
  done
  pod_status shop web-5d9f8c-aaaaa "$(running_status)"
  pod_status shop web-5d9f8c-bbbbb "$(running_status)"
  pod_status shop web-5d9f8c-ccccc "$(jq -nc --arg now "$NOW" '{phase: "Pending",
    conditions: [{type: "PodScheduled", status: "True", lastTransitionTime: $now}],
    containerStatuses: [{name: "app", image: "registry.example/app:1.0", imageID: "",
      ready: false, restartCount: 0, state: {waiting: {reason: "ContainerCreating"}}}]}')"
  merge_patch /apis/apps/v1/namespaces/shop/replicasets/web-5d9f8c/status \
    '{"status":{"replicas":3,"readyReplicas":2,"availableReplicas":2,"fullyLabeledReplicas":3,"observedGeneration":1}}'
  merge_patch /apis/apps/v1/namespaces/shop/deployments/web/status \
    '{"status":{"replicas":3,"updatedReplicas":3,"readyReplicas":2,"availableReplicas":2,"unavailableReplicas":1,"observedGeneration":1}}'

  # A running pod whose container was OOM-killed before (restarts, lastState) and a pod that
  # failed because its container was OOM-killed.
  pod shop cache-0 worker-1 '{"app":"cache"}'
  pod_status shop cache-0 "$(running_status 3 "$(jq -nc --arg t0 "$EARLIER" --arg now "$NOW" \
    '{terminated: {exitCode: 137, reason: "OOMKilled", startedAt: $t0, finishedAt: $now}}')")"
  pod shop oom-victim worker-2 '{"app":"hungry"}'
  pod_status shop oom-victim "$(jq -nc --arg t0 "$EARLIER" --arg now "$NOW" '{phase: "Failed",
    reason: "OOMKilled", startTime: $t0,
    containerStatuses: [{name: "app", image: "registry.example/app:1.0", imageID: "",
      containerID: "containerd://dead", ready: false, restartCount: 0,
      state: {terminated: {exitCode: 137, reason: "OOMKilled", startedAt: $t0, finishedAt: $now}}}]}')"

  # Services, an EndpointSlice and an Ingress.
  create /api/v1/namespaces/shop/services '{"metadata":{"name":"web","labels":{"app":"web"}},
    "spec":{"type":"ClusterIP","selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}'
  create /api/v1/namespaces/shop/services '{"metadata":{"name":"web-public"},
    "spec":{"type":"NodePort","selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}'
  create /apis/discovery.k8s.io/v1/namespaces/shop/endpointslices '{"metadata":{"name":"web-abcde",
    "labels":{"kubernetes.io/service-name":"web","endpointslice.kubernetes.io/managed-by":"e2e"}},
    "addressType":"IPv4","ports":[{"name":"http","port":8080,"protocol":"TCP"}],
    "endpoints":[{"addresses":["10.244.0.10"],"conditions":{"ready":true,"serving":true,"terminating":false},"nodeName":"worker-1","targetRef":{"kind":"Pod","name":"web-5d9f8c-aaaaa","namespace":"shop"}},
                 {"addresses":["10.244.0.11"],"conditions":{"ready":false,"serving":false,"terminating":false},"nodeName":"worker-1"}]}'
  create /apis/networking.k8s.io/v1/namespaces/shop/ingresses '{"metadata":{"name":"web"},
    "spec":{"rules":[{"host":"shop.example.com","http":{"paths":[{"path":"/","pathType":"Prefix",
    "backend":{"service":{"name":"web","port":{"number":80}}}}]}}],
    "tls":[{"hosts":["shop.example.com"],"secretName":"web-tls"}]}}'

  # A Secret with data (the value must never appear in the exposition).
  create /api/v1/namespaces/shop/secrets "$(jq -nc --arg v "$SECRET_B64" '{metadata: {name: "db-credentials",
    labels: {app: "web"}}, type: "Opaque", data: {password: $v}}')"
  create /api/v1/namespaces/shop/configmaps '{"metadata":{"name":"web-config"},"data":{"mode":"prod"}}'

  # Storage: a bound PV/PVC pair and a pending claim.
  create /api/v1/persistentvolumes '{"metadata":{"name":"pv-data"},"spec":{"capacity":{"storage":"10Gi"},
    "accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain","storageClassName":"standard",
    "hostPath":{"path":"/tmp/pv-data"},"claimRef":{"namespace":"shop","name":"data"}}}'
  merge_patch /api/v1/persistentvolumes/pv-data/status '{"status":{"phase":"Bound"}}'
  create /api/v1/namespaces/shop/persistentvolumeclaims '{"metadata":{"name":"data"},"spec":{
    "accessModes":["ReadWriteOnce"],"storageClassName":"standard","volumeName":"pv-data",
    "resources":{"requests":{"storage":"10Gi"}}}}'
  merge_patch /api/v1/namespaces/shop/persistentvolumeclaims/data/status \
    '{"status":{"phase":"Bound","accessModes":["ReadWriteOnce"],"capacity":{"storage":"10Gi"}}}'
  create /api/v1/namespaces/shop/persistentvolumeclaims '{"metadata":{"name":"scratch"},"spec":{
    "accessModes":["ReadWriteOnce"],"storageClassName":"standard","resources":{"requests":{"storage":"1Gi"}}}}'

  # Batch: a CronJob, a Job it "created" with a completed pod, and a running Job.
  create /apis/batch/v1/namespaces/batch/cronjobs '{"metadata":{"name":"nightly"},"spec":{"schedule":"0 3 * * *",
    "concurrencyPolicy":"Forbid","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never",
    "containers":[{"name":"report","image":"registry.example/report:1.0"}]}}}}}}'
  merge_patch /apis/batch/v1/namespaces/batch/cronjobs/nightly/status \
    "{\"status\":{\"lastScheduleTime\":\"$EARLIER\",\"lastSuccessfulTime\":\"$NOW\"}}"
  local cj_uid job_uid
  cj_uid="$(uid_of /apis/batch/v1/namespaces/batch/cronjobs/nightly)"
  create /apis/batch/v1/namespaces/batch/jobs "$(jq -nc --argjson o "$(owner batch/v1 CronJob nightly "$cj_uid")" \
    '{metadata: {name: "nightly-29000000", ownerReferences: $o}, spec: {completions: 1, parallelism: 1,
      backoffLimit: 2, template: {spec: {restartPolicy: "Never",
      containers: [{name: "report", image: "registry.example/report:1.0"}]}}}}')"
  job_uid="$(uid_of /apis/batch/v1/namespaces/batch/jobs/nightly-29000000)"
  create /api/v1/namespaces/batch/pods "$(jq -nc --argjson o "$(owner batch/v1 Job nightly-29000000 "$job_uid")" \
    '{metadata: {name: "nightly-29000000-xyz12", labels: {"job-name": "nightly-29000000"}, ownerReferences: $o},
      spec: {nodeName: "worker-1", restartPolicy: "Never",
        containers: [{name: "report", image: "registry.example/report:1.0"}]}}')"
  pod_status batch nightly-29000000-xyz12 "$(jq -nc --arg t0 "$EARLIER" --arg now "$NOW" '{phase: "Succeeded",
    startTime: $t0, containerStatuses: [{name: "report", image: "registry.example/report:1.0", imageID: "",
      containerID: "containerd://done", ready: false, restartCount: 0,
      state: {terminated: {exitCode: 0, reason: "Completed", startedAt: $t0, finishedAt: $now}}}]}')"
  # Job status validation wants the success criteria condition before Complete.
  merge_patch /apis/batch/v1/namespaces/batch/jobs/nightly-29000000/status "$(jq -nc --arg t0 "$EARLIER" \
    --arg now "$NOW" '{status: {startTime: $t0, completionTime: $now, succeeded: 1, active: 0, ready: 0,
      terminating: 0, uncountedTerminatedPods: {},
      conditions: [{type: "SuccessCriteriaMet", status: "True", lastProbeTime: $now, lastTransitionTime: $now},
                   {type: "Complete", status: "True", lastProbeTime: $now, lastTransitionTime: $now}]}}')"
  create /apis/batch/v1/namespaces/batch/jobs '{"metadata":{"name":"backfill"},"spec":{"completions":5,
    "parallelism":2,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"w","image":"registry.example/w:1"}]}}}}'
  merge_patch /apis/batch/v1/namespaces/batch/jobs/backfill/status \
    "{\"status\":{\"startTime\":\"$EARLIER\",\"active\":2,\"ready\":2,\"succeeded\":1}}"

  # A CRD with two custom objects (kubestate has no custom-resource config here: they must
  # simply not disturb anything).
  create /apis/apiextensions.k8s.io/v1/customresourcedefinitions '{"metadata":{"name":"widgets.e2e.kubestate.io"},
    "spec":{"group":"e2e.kubestate.io","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
    "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object",
    "properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}}}}}}}]}}'
  crd_established() {
    api GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.e2e.kubestate.io |
      jq -e '.status.conditions // [] | any(.type == "Established" and .status == "True")' >/dev/null
  }
  wait_until 30 crd_established
  wait_until 30 api GET /apis/e2e.kubestate.io/v1/namespaces/shop/widgets
  create /apis/e2e.kubestate.io/v1/namespaces/shop/widgets '{"apiVersion":"e2e.kubestate.io/v1","kind":"Widget","metadata":{"name":"small"},"spec":{"size":1}}'
  create /apis/e2e.kubestate.io/v1/namespaces/shop/widgets '{"apiVersion":"e2e.kubestate.io/v1","kind":"Widget","metadata":{"name":"large"},"spec":{"size":9}}'
}

t=$SECONDS
build_cluster
log "cluster built in $((SECONDS - t)) s"

# --- kubestate ----------------------------------------------------------------------------
KS_PORT="$(free_port)"
KS_TELEMETRY_PORT="$(free_port)"
# service discovery for the Prometheus below: the web pods, as http_sd and as file_sd
mkdir -p "$E2E_TMP/sd"
cat >"$E2E_TMP/sd.yaml" <<EOF
- name: shop-web
  role: pod
  namespaces: {names: [shop]}
  selectors: [{role: pod, label: app=web}]
  attach_metadata: {node: true, deployment: true}
EOF
"$KUBESTATE_BIN" --kubeconfig "$TOKEN_KUBECONFIG" \
  --host 127.0.0.1 --port "$KS_PORT" \
  --telemetry-host 127.0.0.1 --telemetry-port "$KS_TELEMETRY_PORT" \
  --metric-labels-allowlist='pods=[*]' \
  --sd-config "$E2E_TMP/sd.yaml" --sd-file-dir "$E2E_TMP/sd" --sd-update-interval 1s \
  >"$E2E_TMP/kubestate.log" 2>&1 &
KS_PID=$!
ks_ready() { curl -sf --max-time 2 "http://127.0.0.1:$KS_PORT/readyz" >/dev/null; }
t=$SECONDS
check "kubestate becomes ready with the ServiceAccount token" wait_until 30 ks_ready
log "kubestate ready in $((SECONDS - t)) s"

# --- what kubestate exposes -----------------------------------------------------------------
pod_uid() { uid_of "/api/v1/namespaces/$1/pods/$2"; }
UID_RUNNING="$(pod_uid shop web-5d9f8c-aaaaa)"
UID_PENDING="$(pod_uid shop web-5d9f8c-ccccc)"
UID_FAILED="$(pod_uid shop oom-victim)"
UID_DONE="$(pod_uid batch nightly-29000000-xyz12)"
UID_CACHE="$(pod_uid shop cache-0)"
phase_line() { # <ns> <pod> <uid> <phase> <value>
  echo "kube_pod_status_phase{namespace=\"$1\",pod=\"$2\",uid=\"$3\",phase=\"$4\"} $5"
}
check_line() { check "line: $1" has_line "$1"; }

# The first line also waits for the initial state (readiness already implies it).
check "initial state visible" wait_until 20 has_line "$(phase_line shop web-5d9f8c-aaaaa "$UID_RUNNING" Running 1)"
sd_deployment_ok() {
  curl -sfS --max-time 10 "http://127.0.0.1:$KS_PORT/sd/shop-web" | jq -e '
    [.[].labels] | length > 0 and all(.__meta_kubernetes_pod_deployment_name == "web"
      and .__meta_kubernetes_pod_controller_kind == "ReplicaSet"
      and .__meta_kubernetes_pod_controller_name == "web-5d9f8c")' >/dev/null
}
check "http_sd: attach_metadata.deployment names the Deployment behind the pods' ReplicaSet" \
  wait_until 30 sd_deployment_ok
check_line "$(phase_line shop web-5d9f8c-aaaaa "$UID_RUNNING" Running 1)"
check_line "$(phase_line shop web-5d9f8c-aaaaa "$UID_RUNNING" Pending 0)"
check_line "$(phase_line shop web-5d9f8c-ccccc "$UID_PENDING" Pending 1)"
check_line "$(phase_line shop oom-victim "$UID_FAILED" Failed 1)"
check_line "$(phase_line shop oom-victim "$UID_FAILED" Running 0)"
check_line "$(phase_line batch nightly-29000000-xyz12 "$UID_DONE" Succeeded 1)"
check_line "kube_pod_container_status_last_terminated_reason{namespace=\"shop\",pod=\"cache-0\",uid=\"$UID_CACHE\",container=\"app\",reason=\"OOMKilled\"} 1"
check_line "kube_pod_container_status_terminated_reason{namespace=\"shop\",pod=\"oom-victim\",uid=\"$UID_FAILED\",container=\"app\",reason=\"OOMKilled\"} 1"
check_line "kube_pod_container_status_restarts_total{namespace=\"shop\",pod=\"cache-0\",uid=\"$UID_CACHE\",container=\"app\"} 3"
check "pod owner is the ReplicaSet" has_series kube_pod_owner 'pod="web-5d9f8c-aaaaa"' \
  'owner_kind="ReplicaSet"' 'owner_name="web-5d9f8c"'
check "pod labels exported (allowlist pods=[*])" has_series kube_pod_labels \
  'pod="web-5d9f8c-aaaaa"' 'label_app="web"' 'label_pod_template_hash="5d9f8c"'
check_line 'kube_node_status_capacity{node="worker-2",resource="cpu",unit="core"} 8'
check_line 'kube_node_status_capacity{node="worker-2",resource="memory",unit="byte"} 3.4359738368e+10'
check_line 'kube_node_status_capacity{node="worker-1",resource="pods",unit="integer"} 110'
check_line 'kube_node_status_allocatable{node="worker-1",resource="ephemeral_storage",unit="byte"} 9.663676416e+10'
check "node Ready condition (worker-2 not ready)" has_series kube_node_status_condition \
  'node="worker-2"' 'condition="Ready"' 'status="false"} 1'
check "node InternalIP address" has_series kube_node_info 'node="worker-1"' 'internal_ip="10.0.0.11"'
check_line 'kube_deployment_spec_replicas{namespace="shop",deployment="web"} 3'
check_line 'kube_deployment_status_replicas_available{namespace="shop",deployment="web"} 2'
check_line 'kube_persistentvolumeclaim_status_phase{namespace="shop",persistentvolumeclaim="data",phase="Bound"} 1'
check_line 'kube_persistentvolumeclaim_status_phase{namespace="shop",persistentvolumeclaim="scratch",phase="Pending"} 1'
check_line 'kube_persistentvolume_status_phase{persistentvolume="pv-data",phase="Bound"} 1'
check_line 'kube_secret_type{namespace="shop",secret="db-credentials",type="Opaque"} 1'
check_line 'kube_ingress_info{namespace="shop",ingress="web",ingressclass="_default"} 1'
check_line 'kube_endpointslice_info{endpointslice="web-abcde",namespace="shop",addresstype="IPv4"} 1'
check "service web listed" has_series kube_service_info 'namespace="shop"' 'service="web"' 'cluster_ip="10.96.'
check "secret value absent from the exposition" lacks "$SECRET_VALUE"
check "secret value (base64) absent from the exposition" lacks "$SECRET_B64"
check "custom objects leave no trace" lacks 'widget'

# Batch families.
check_line 'kube_job_status_succeeded{namespace="batch",job_name="nightly-29000000"} 1'
check_line 'kube_job_status_active{namespace="batch",job_name="backfill"} 2'
check "job owner is the CronJob" has_series kube_job_owner 'job_name="nightly-29000000"' \
  'owner_kind="CronJob"' 'owner_name="nightly"'
check "cronjob info" has_series kube_cronjob_info 'cronjob="nightly"' 'schedule="0 3 * * *"'

scrape >"$E2E_TMP/scrape-initial.prom"
check "promtool check metrics (text format)" promtool check metrics <"$E2E_TMP/scrape-initial.prom"
om_scrape_ok() {
  curl -sfS --max-time 20 -H 'Accept: application/openmetrics-text; version=1.0.0' \
    "http://127.0.0.1:$KS_PORT/metrics" >"$E2E_TMP/scrape-initial.om" &&
    [ "$(tail -n 1 "$E2E_TMP/scrape-initial.om")" = "# EOF" ]
}
check "OpenMetrics scrape ends with # EOF" om_scrape_ok
no_errors_logged() { ! grep -q 'level=error' "$E2E_TMP/kubestate.log"; }
check "no errors in kubestate's log" no_errors_logged
never_forbidden() { ! grep -Eqi 'forbidden|HTTP 403|status 403' "$E2E_TMP/kubestate.log"; }
check "the ClusterRole covers every watched resource (no 403 in kubestate's log)" never_forbidden
telemetry_ok() {
  local t
  t="$(curl -sfS --max-time 10 "http://127.0.0.1:$KS_TELEMETRY_PORT/metrics")" &&
    grep -q '^kube_state_metrics_watch_total' <<<"$t"
}
check "telemetry endpoint serves self-metrics" telemetry_ok
watch_list_used() {
  curl -sfS --max-time 10 "http://127.0.0.1:$KS_TELEMETRY_PORT/metrics" |
    grep '^kubestate_initial_sync_mode{resource="pods",mode="watch-list"} 1' >/dev/null
}
check "initial state streamed with WatchList (sendInitialEvents) by the real API server" watch_list_used

# A second instance forced to paginated LIST sees exactly the same state.
KS2_PORT="$(free_port)"
KS2_TELEMETRY_PORT="$(free_port)"
"$KUBESTATE_BIN" --kubeconfig "$TOKEN_KUBECONFIG" --initial-sync=list \
  --host 127.0.0.1 --port "$KS2_PORT" \
  --telemetry-host 127.0.0.1 --telemetry-port "$KS2_TELEMETRY_PORT" \
  --metric-labels-allowlist='pods=[*]' \
  >"$E2E_TMP/kubestate-list.log" 2>&1 &
KS2_PID=$!
ks2_ready() { curl -sf --max-time 2 "http://127.0.0.1:$KS2_PORT/readyz" >/dev/null; }
check "a LIST-mode instance becomes ready" wait_until 30 ks2_ready
same_state_both_modes() {
  curl -sfS --max-time 20 "http://127.0.0.1:$KS_PORT/metrics" | grep -v '^#' | sort >"$E2E_TMP/mode-watchlist.txt" &&
    curl -sfS --max-time 20 "http://127.0.0.1:$KS2_PORT/metrics" | grep -v '^#' | sort >"$E2E_TMP/mode-list.txt" &&
    curl -sfS --max-time 10 "http://127.0.0.1:$KS2_TELEMETRY_PORT/metrics" |
      grep '^kubestate_initial_sync_mode{resource="pods",mode="list"} 1' >/dev/null &&
    [ -s "$E2E_TMP/mode-list.txt" ] && cmp -s "$E2E_TMP/mode-watchlist.txt" "$E2E_TMP/mode-list.txt"
}
check "WatchList and LIST modes export identical series" same_state_both_modes
kill "$KS2_PID" 2>/dev/null || true
wait "$KS2_PID" 2>/dev/null || true

# --- custom resource state with a wildcard kind, resolved through the real CRDs ----------------
# KSM's discovery e2e: `version: "*"`/`kind: "*"` are resolved from the served CRDs; a CRD
# installed later adds its kind, a deleted one takes its series away.
KS3_PORT="$(free_port)"
KS3_TELEMETRY_PORT="$(free_port)"
cat >"$E2E_TMP/crs-wildcard.yaml" <<'YAML'
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: e2e.kubestate.io, version: "*", kind: "*"}
    labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}
    metrics:
    - name: part_size
      help: Size from the spec.
      each: {type: Gauge, gauge: {path: [spec, size]}}
YAML
"$KUBESTATE_BIN" --kubeconfig "$ADMIN_KUBECONFIG" --resources=namespaces \
  --custom-resource-state-config-file "$E2E_TMP/crs-wildcard.yaml" \
  --host 127.0.0.1 --port "$KS3_PORT" \
  --telemetry-host 127.0.0.1 --telemetry-port "$KS3_TELEMETRY_PORT" \
  >"$E2E_TMP/kubestate-crs.log" 2>&1 &
KS3_PID=$!
# grep reads the whole scrape (no -q): an early exit would fail curl, and with pipefail the check
crs_has() { curl -sfS --max-time 10 "http://127.0.0.1:$KS3_PORT/metrics" | grep -xF "$1" >/dev/null; }
crs_lacks() {
  local m
  m="$(curl -sfS --max-time 10 "http://127.0.0.1:$KS3_PORT/metrics")" && ! grep -qF "$1" <<<"$m"
}
part_line() { # <kind> <name> <size>
  echo "kube_customresource_part_size{customresource_group=\"e2e.kubestate.io\",customresource_kind=\"$1\",customresource_version=\"v1\",name=\"$2\",namespace=\"shop\"} $3"
}
check "CRS wildcard: Widget kind resolved from its CRD" wait_until 30 crs_has "$(part_line Widget large 9)"
create /apis/apiextensions.k8s.io/v1/customresourcedefinitions '{"metadata":{"name":"gears.e2e.kubestate.io"},
  "spec":{"group":"e2e.kubestate.io","scope":"Namespaced","names":{"plural":"gears","singular":"gear","kind":"Gear"},
  "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object",
  "properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}}}}}}}]}}'
gears_served() { api GET /apis/e2e.kubestate.io/v1/namespaces/shop/gears; }
wait_until 30 gears_served
create /apis/e2e.kubestate.io/v1/namespaces/shop/gears '{"apiVersion":"e2e.kubestate.io/v1","kind":"Gear","metadata":{"name":"g1"},"spec":{"size":4}}'
check "CRS wildcard: a CRD installed later adds its kind" wait_until 30 crs_has "$(part_line Gear g1 4)"
api DELETE /apis/apiextensions.k8s.io/v1/customresourcedefinitions/gears.e2e.kubestate.io >/dev/null
check "CRS wildcard: a deleted CRD takes its series away" wait_until 60 crs_lacks 'customresource_kind="Gear"'
check "CRS wildcard: the Widget series stay" crs_has "$(part_line Widget small 1)"
crs_no_errors() { ! grep -q 'level=error' "$E2E_TMP/kubestate-crs.log"; }
check "CRS wildcard: no errors in that instance's log" crs_no_errors
kill "$KS3_PID" 2>/dev/null || true
wait "$KS3_PID" 2>/dev/null || true
