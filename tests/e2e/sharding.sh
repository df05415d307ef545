# Range sharding against the real API server (sourced by run.sh after scenario.sh).
# kube-apiserver runs with --feature-gates=ShardedListAndWatch=true (KEP-5866): two
# --shard-strategy=range instances must together export exactly what an unsharded instance
# exports, and each must see the server apply its shardSelector.

SHARD_RESOURCES="pods,namespaces,configmaps,services,deployments,replicasets,statefulsets,jobs,cronjobs,persistentvolumeclaims"
start_sharding_instance() { # <name> <port> <telemetry port> [flags...]
  local name="$1" port="$2" tport="$3"
  shift 3
  "$KUBESTATE_BIN" --kubeconfig "$ADMIN_KUBECONFIG" --resources="$SHARD_RESOURCES" \
    --host 127.0.0.1 --port "$port" --telemetry-host 127.0.0.1 --telemetry-port "$tport" \
    "$@" >"$E2E_TMP/kubestate-$name.log" 2>&1 &
  echo $!
}
RS_PORT="$(free_port)"; RS_TPORT="$(free_port)"
R0_PORT="$(free_port)"; R0_TPORT="$(free_port)"
R1_PORT="$(free_port)"; R1_TPORT="$(free_port)"
RS_PID="$(start_sharding_instance unsharded "$RS_PORT" "$RS_TPORT")"
R0_PID="$(start_sharding_instance range0 "$R0_PORT" "$R0_TPORT" --shard=0 --total-shards=2 --shard-strategy=range)"
R1_PID="$(start_sharding_instance range1 "$R1_PORT" "$R1_TPORT" --shard=1 --total-shards=2 --shard-strategy=range)"
# stopped by run.sh's teardown too, should a failing step end the suite early
EXTRA_PIDS+=("$RS_PID" "$R0_PID" "$R1_PID")
check "unsharded and two range shards become ready" wait_until 30 \
  bash -c "curl -sf --max-time 2 http://127.0.0.1:$RS_PORT/readyz && curl -sf --max-time 2 http://127.0.0.1:$R0_PORT/readyz && curl -sf --max-time 2 http://127.0.0.1:$R1_PORT/readyz"

# The server applies the selector: a direct LIST with half the hash space echoes shardInfo.
server_shards() {
  api GET "/api/v1/pods?shardSelector=shardRange(object.metadata.uid%2C%20%270x0000000000000000%27%2C%20%270x8000000000000000%27)" |
    jq -e '.metadata.shardInfo.selector | length > 0' >/dev/null
}
check "kube-apiserver honours shardSelector (ShardedListAndWatch on)" server_shards

range_union_is_unsharded() {
  curl -sfS --max-time 20 "http://127.0.0.1:$RS_PORT/metrics" | grep -v '^#' | sort >"$E2E_TMP/range-unsharded.txt" &&
    { curl -sfS --max-time 20 "http://127.0.0.1:$R0_PORT/metrics" && curl -sfS --max-time 20 "http://127.0.0.1:$R1_PORT/metrics"; } |
    grep -v '^#' | sort >"$E2E_TMP/range-union.txt" &&
    [ -s "$E2E_TMP/range-unsharded.txt" ] && cmp -s "$E2E_TMP/range-unsharded.txt" "$E2E_TMP/range-union.txt"
}
check "two range shards together export exactly what an unsharded instance exports" wait_until 30 range_union_is_unsharded
range_split() {
  local a b
  a="$(curl -sfS --max-time 20 "http://127.0.0.1:$R0_PORT/metrics" | grep -c '^kube_pod_info{')" &&
    b="$(curl -sfS --max-time 20 "http://127.0.0.1:$R1_PORT/metrics" | grep -c '^kube_pod_info{')" &&
    log "range shards: $a + $b pods" && [ "$a" -gt 0 ] && [ "$b" -gt 0 ]
}
check "each range shard owns some of the pods" range_split
server_filtered() { # <telemetry port>
  curl -sfS --max-time 10 "http://127.0.0.1:$1/metrics" |
    grep '^kubestate_shard_server_filtered{resource="pods"} 1' >/dev/null
}
check "range shard 0 reports the server filtering for it" server_filtered "$R0_TPORT"
check "range shard 1 reports the server filtering for it" server_filtered "$R1_TPORT"
# Events: a burst of new pods in one namespace; each shard is sent (and keeps) only its own.
api POST /api/v1/namespaces '{"metadata":{"name":"range-burst"}}' >/dev/null || true
# ServiceAccount admission refuses pods until the namespace's "default" account exists.
api POST /api/v1/namespaces/range-burst/serviceaccounts '{"metadata":{"name":"default"}}' >/dev/null || true
for i in $(seq 1 20); do
  create /api/v1/namespaces/range-burst/pods "{\"metadata\":{\"name\":\"b$i\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}"
done
check "after a burst of events the union still equals the unsharded instance" wait_until 30 range_union_is_unsharded
for f in range0 range1; do
  sharding_no_errors() { ! grep -q 'level=error' "$E2E_TMP/kubestate-$f.log"; }
  check "no errors in the $f instance's log" sharding_no_errors
done
kill "$RS_PID" "$R0_PID" "$R1_PID" 2>/dev/null || true
wait "$RS_PID" "$R0_PID" "$R1_PID" 2>/dev/null || true
