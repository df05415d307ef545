# The control plane the end-to-end suite and bench/real_apiserver.sh run (sourced, not run on
# its own): a throw-away PKI, etcd and kube-apiserver on loopback ports, and an admin
# kubeconfig. Expects lib.sh sourced, E2E_TMP set and ETCD_BIN/KUBE_APISERVER_BIN from build.sh.
# Sets PKI, ETCD_PID, ETCD_URL, APISERVER_PID, API_PORT, API_URL, ADMIN_KUBECONFIG.

PKI="$E2E_TMP/pki"

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
# --- etcd ---------------------------------------------------------------------------------
start_etcd() {
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
  wait_until 30 etcd_healthy || { log "etcd did not become healthy"; return 1; }
  log "etcd up on $ETCD_URL"
}
etcd_healthy() { [[ "$(curl -sf --max-time 2 "$ETCD_URL/health")" == *'"health":"true"'* ]]; }

# --- kube-apiserver -----------------------------------------------------------------------
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
    --profiling=false "$@" \
    >>"$E2E_TMP/kube-apiserver.log" 2>&1 &
  APISERVER_PID=$!
}
apiserver_ready() {
  [ "$(curl -sf --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "$API_URL/readyz")" = ok ]
}

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

# PKI, etcd, kube-apiserver (extra flags: "$@") and the admin kubeconfig, in that order.
control_plane_up() {
  local t=$SECONDS
  make_pki
  log "PKI ready in $((SECONDS - t)) s"
  start_etcd || return 1
  API_PORT="$(free_port)"
  API_URL="https://127.0.0.1:$API_PORT"
  t=$SECONDS
  start_apiserver "$@"
  wait_until 90 apiserver_ready || { log "kube-apiserver did not become ready"; return 1; }
  log "kube-apiserver $(api GET /version | jq -r .gitVersion) ready on $API_URL in $((SECONDS - t)) s"
  ADMIN_KUBECONFIG="$E2E_TMP/admin.kubeconfig"
  write_kubeconfig "$ADMIN_KUBECONFIG" "    client-certificate-data: $(b64 "$PKI/admin.crt")
    client-key-data: $(b64 "$PKI/admin.key")"
}

