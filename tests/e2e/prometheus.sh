# A real Prometheus (Debian's package) scraping kubestate (sourced by run.sh last).
#
# Job kubestate-openmetrics: Prometheus' default Accept header, so kubestate answers with
# OpenMetrics. Job kubestate-text: text format 0.0.4 through `scrape_protocols` where this
# Prometheus knows the field (>= 2.49); 2.42 (Debian 12) does not and always prefers
# OpenMetrics, so there the second job instead finds the same target through file_sd with
# honor_labels — a different discovery path, same exposition. Both must yield the same series.

PROM_PORT="$(free_port)"
PROM_DIR="$E2E_TMP/prometheus"
mkdir -p "$PROM_DIR/data"
PROM_INTERVAL=2

probe_scrape_protocols() {
  cat >"$PROM_DIR/probe.yml" <<EOF
scrape_configs:
- job_name: probe
  scrape_protocols: [PrometheusText0.0.4]
  static_configs: [{targets: ['127.0.0.1:$KS_PORT']}]
EOF
  promtool check config "$PROM_DIR/probe.yml" >/dev/null 2>&1
}
if probe_scrape_protocols; then
  TEXT_JOB_HOW="  scrape_protocols: [PrometheusText0.0.4]
  static_configs: [{targets: ['127.0.0.1:$KS_PORT']}]"
  log "prometheus: text job uses scrape_protocols"
else
  cat >"$PROM_DIR/targets.json" <<EOF
[{"targets": ["127.0.0.1:$KS_PORT"], "labels": {"via": "file_sd"}}]
EOF
  TEXT_JOB_HOW="  honor_labels: true
  file_sd_configs: [{files: ['$PROM_DIR/targets.json'], refresh_interval: 5s}]"
  log "prometheus: no scrape_protocols in $(prometheus --version 2>&1 | head -1 | awk '{print $3}'); text job falls back to file_sd"
fi

cat >"$PROM_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: ${PROM_INTERVAL}s
  scrape_timeout: ${PROM_INTERVAL}s
scrape_configs:
- job_name: kubestate-openmetrics
  static_configs: [{targets: ['127.0.0.1:$KS_PORT']}]
- job_name: kubestate-text
$TEXT_JOB_HOW
- job_name: kubestate-telemetry
  static_configs: [{targets: ['127.0.0.1:$KS_TELEMETRY_PORT']}]
# kubestate's service discovery: the pods' own addresses are never scraped (no traffic leaves
# loopback); each discovered pod becomes a scrape of kubestate's telemetry port labelled with
# the pod's name, so Prometheus keeps one target per discovered pod.
- job_name: kubestate-http-sd
  http_sd_configs: [{url: 'http://127.0.0.1:$KS_PORT/sd/shop-web', refresh_interval: 2s}]
  relabel_configs: &sd_relabel
  - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
  - {source_labels: [__meta_kubernetes_pod_label_app], target_label: app}
  - {source_labels: [__meta_kubernetes_node_name], target_label: node}
  - {target_label: __address__, replacement: '127.0.0.1:$KS_TELEMETRY_PORT'}
- job_name: kubestate-file-sd
  file_sd_configs: [{files: ['$E2E_TMP/sd/shop-web.json'], refresh_interval: 2s}]
  relabel_configs: *sd_relabel
EOF
check "promtool check config" promtool check config "$PROM_DIR/prometheus.yml"

prometheus --config.file "$PROM_DIR/prometheus.yml" --storage.tsdb.path "$PROM_DIR/data" \
  --web.listen-address "127.0.0.1:$PROM_PORT" --log.level warn \
  >"$E2E_TMP/prometheus.log" 2>&1 &
PROM_PID=$!

# promql <expr>: prints the first result's value ("" when the result is empty).
promql() {
  curl -sf --max-time 10 --get --data-urlencode "query=$1" \
    "http://127.0.0.1:$PROM_PORT/api/v1/query" | jq -r '.data.result[0].value[1] // ""'
}
scraped_twice() { # every job up and scraped at least twice
  local j v
  for j in kubestate-openmetrics kubestate-text kubestate-telemetry; do
    v="$(promql "count_over_time(up{job=\"$j\"}[5m]) >= 2 and min_over_time(up{job=\"$j\"}[5m]) == 1")"
    [ -n "$v" ] || return 1
  done
}
t=$SECONDS
check "prometheus scraped all jobs twice" wait_until 60 scraped_twice
log "prometheus: two scrapes after $((SECONDS - t)) s"

kube_series() { promql "count({job=\"$1\",__name__=~\"kube_.+\"})"; }
OM_COUNT="$(kube_series kubestate-openmetrics)"
TEXT_COUNT="$(kube_series kubestate-text)"
# Samples kubestate exposes right now (text format), for comparison with what Prometheus stored.
DIRECT_COUNT="$(scrape | grep -c '^kube_' || true)"
log "prometheus: kube_* series openmetrics=$OM_COUNT text=$TEXT_COUNT direct scrape=$DIRECT_COUNT"
same_count() { [ -n "$OM_COUNT" ] && [ "$OM_COUNT" -gt 0 ] && [ "$OM_COUNT" = "$TEXT_COUNT" ]; }
check "both jobs store the same kube_* series count" same_count
matches_direct() { [ "$OM_COUNT" = "$DIRECT_COUNT" ]; }
check "prometheus stored every sample of a direct scrape" matches_direct

value_is() { [ "$(promql "$1")" = "$2" ]; }
check "query: node capacity cpu (worker-2)" \
  value_is 'kube_node_status_capacity{job="kubestate-openmetrics",node="worker-2",resource="cpu"}' 8
check "query: failed pod phase" \
  value_is 'kube_pod_status_phase{job="kubestate-text",namespace="shop",pod="oom-victim",phase="Failed"}' 1
check "query: OOMKilled terminated reason" \
  value_is 'sum(kube_pod_container_status_terminated_reason{job="kubestate-openmetrics",reason="OOMKilled"})' 1
check "query: kubestate telemetry is scraped" \
  value_is 'count(up{job="kubestate-telemetry"} == 1)' 1
sd_targets() { # pods kubestate's /sd/shop-web lists right now
  curl -sfS --max-time 10 "http://127.0.0.1:$KS_PORT/sd/shop-web" | jq -r '.[].labels.__meta_kubernetes_pod_name' | sort -u
}
prom_sd_targets() { # pods Prometheus scrapes through job $1
  curl -sf --max-time 10 --get --data-urlencode "query=up{job=\"$1\"} == 1" \
    "http://127.0.0.1:$PROM_PORT/api/v1/query" | jq -r '.data.result[].metric.pod' | sort -u
}
sd_matches() {
  local want
  want="$(sd_targets)" && [ -n "$want" ] &&
    [ "$(prom_sd_targets kubestate-http-sd)" = "$want" ] &&
    [ "$(prom_sd_targets kubestate-file-sd)" = "$want" ]
}
check "prometheus discovers the same pods through kubestate's http_sd and file_sd" wait_until 60 sd_matches
sd_labels_ok() {
  curl -sf --max-time 10 "http://127.0.0.1:$PROM_PORT/api/v1/targets" | jq -e '
    [.data.activeTargets[] | select(.labels.job == "kubestate-http-sd") | .discoveredLabels]
    | length > 0 and all(.__meta_kubernetes_namespace == "shop" and .__meta_kubernetes_pod_label_app == "web"
        and .__meta_kubernetes_pod_labelpresent_app == "true" and (.__meta_kubernetes_node_name | length > 0)
        and .__meta_kubernetes_pod_deployment_name == "web")' >/dev/null
}
check "http_sd targets carry Prometheus' __meta_kubernetes_* labels" sd_labels_ok

prom_log_clean() { ! grep -Eiq 'level=(error|warn).*(scrape|append)' "$E2E_TMP/prometheus.log"; }
check "no scrape/append errors in the prometheus log" prom_log_clean
