# Compressed responses from the real API server (sourced by run.sh after sharding.sh).
# kube-apiserver compresses a response over 128 KiB (APIResponseCompression) and, from 1.37, a
# WatchList stream (WatchListCompression) for a client sending Accept-Encoding: gzip; a plain
# WATCH stays uncompressed. kubestate asks for gzip by default: its metrics must equal those
# of a --disable-compression instance, and its self-metrics must show the bytes saved.

GZ_RESOURCES="configmaps,namespaces,pods"
# 80 ConfigMaps of about 4 KiB of text: a LIST of them is well over the 128 KiB threshold.
api POST /api/v1/namespaces '{"metadata":{"name":"apigz"}}' >/dev/null || true
GZ_DATA="$(seq -s ' ' 1 800)"
for i in $(seq 1 80); do
  create /api/v1/namespaces/apigz/configmaps "{\"metadata\":{\"name\":\"cm-$i\",\"labels\":{\"app\":\"apigz\"}},\"data\":{\"blob\":\"$GZ_DATA\",\"text\":\"$(printf 'line of text %.0s' $(seq 1 60))\"}}"
done

# The response headers of a GET with Accept-Encoding: gzip (body discarded).
gz_headers() { # <path and query>
  curl -sS --max-time 20 -o /dev/null -D - -H 'Accept-Encoding: gzip' \
    --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$API_URL$1" | tr -d '\r'
}
gz_list_compressed() { gz_headers "/api/v1/configmaps" | grep -qi '^content-encoding: gzip$'; }
gz_watchlist_compressed() {
  gz_headers "/api/v1/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1" |
    grep -qi '^content-encoding: gzip$'
}
# From a resourceVersion, as kubestate resumes its watches. (Without one, or with "0",
# kube-apiserver defaults sendInitialEvents=true: a WatchList, compressed.)
gz_watch_plain() {
  local rv
  rv="$(api GET "/api/v1/configmaps?limit=1" | jq -r .metadata.resourceVersion)" &&
    gz_headers "/api/v1/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=$rv&timeoutSeconds=1" >"$E2E_TMP/gz-watch-headers.txt" &&
    ! grep -qi '^content-encoding:' "$E2E_TMP/gz-watch-headers.txt"
}
check "kube-apiserver gzips a LIST over 128 KiB for Accept-Encoding: gzip" gz_list_compressed
check "kube-apiserver gzips a WatchList stream for Accept-Encoding: gzip" gz_watchlist_compressed
check "kube-apiserver leaves a WATCH from a resourceVersion uncompressed" gz_watch_plain

start_gz_instance() { # <name> <port> <telemetry port> [flags...]
  local name="$1" port="$2" tport="$3"
  shift 3
  "$KUBESTATE_BIN" --kubeconfig "$ADMIN_KUBECONFIG" --resources="$GZ_RESOURCES" \
    --host 127.0.0.1 --port "$port" --telemetry-host 127.0.0.1 --telemetry-port "$tport" \
    "$@" >"$E2E_TMP/kubestate-$name.log" 2>&1 &
  echo $!
}
gz_started() {
  local sync="$1"
  GZ_PORT="$(free_port)"; GZ_TPORT="$(free_port)"
  PL_PORT="$(free_port)"; PL_TPORT="$(free_port)"
  GZ_PID="$(start_gz_instance "gzip-$sync" "$GZ_PORT" "$GZ_TPORT" --initial-sync="$sync")"
  PL_PID="$(start_gz_instance "plain-$sync" "$PL_PORT" "$PL_TPORT" --initial-sync="$sync" --disable-compression)"
  EXTRA_PIDS+=("$GZ_PID" "$PL_PID")
}
gz_metrics_equal() {
  curl -sfS --max-time 20 "http://127.0.0.1:$GZ_PORT/metrics" | grep -v '^#' | sort >"$E2E_TMP/gz-on.txt" &&
    curl -sfS --max-time 20 "http://127.0.0.1:$PL_PORT/metrics" | grep -v '^#' | sort >"$E2E_TMP/gz-off.txt" &&
    grep -q 'kube_configmap_info{namespace="apigz",configmap="cm-80"' "$E2E_TMP/gz-on.txt" &&
    cmp -s "$E2E_TMP/gz-on.txt" "$E2E_TMP/gz-off.txt"
}
gz_bytes() { # <telemetry port> <received|decoded>: configmaps' counter
  curl -sfS --max-time 10 "http://127.0.0.1:$1/metrics" |
    sed -n "s/^kubestate_apiserver_$2_bytes_total{resource=\"configmaps\"} //p" | awk '{printf "%d\n", $1}'
}
gz_saved() {
  local wire decoded
  wire="$(gz_bytes "$GZ_TPORT" received)" && decoded="$(gz_bytes "$GZ_TPORT" decoded)" &&
    log "  configmaps with gzip: $wire bytes received, $decoded decoded" &&
    [ "$wire" -gt 0 ] && [ $((wire * 2)) -lt "$decoded" ]
}
gz_off_uncompressed() {
  local wire decoded
  wire="$(gz_bytes "$PL_TPORT" received)" && decoded="$(gz_bytes "$PL_TPORT" decoded)" &&
    log "  configmaps with --disable-compression: $wire bytes received" &&
    [ "$wire" -gt 0 ] && [ "$wire" = "$decoded" ]
}
for sync in watch-list list; do
  gz_started "$sync"
  check "$sync: gzip and --disable-compression instances become ready" wait_until 30 \
    bash -c "curl -sf --max-time 2 http://127.0.0.1:$GZ_PORT/readyz && curl -sf --max-time 2 http://127.0.0.1:$PL_PORT/readyz"
  check "$sync: same metrics with compression on and with --disable-compression" wait_until 20 gz_metrics_equal
  check "$sync: the gzip instance received under half the bytes it decoded" gz_saved
  check "$sync: the --disable-compression instance received plain bytes" gz_off_uncompressed
  for f in "gzip-$sync" "plain-$sync"; do
    gz_no_errors() { ! grep -q 'level=error' "$E2E_TMP/kubestate-$f.log"; }
    check "no errors in the $f instance's log" gz_no_errors
  done
  kill "$GZ_PID" "$PL_PID" 2>/dev/null || true
  wait "$GZ_PID" "$PL_PID" 2>/dev/null || true
done
api DELETE /api/v1/namespaces/apigz >/dev/null || true
