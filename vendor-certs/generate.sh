#!/bin/sh
# Regenerates the test PKI used by the kube::tls tests. Run from anywhere:
#   sh vendor-certs/generate.sh
# Needs only openssl (1.1.1 or 3.x). All keys are ECDSA P-256 in PKCS#8 PEM.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

DAYS=3650

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca <name> <CN>: self-signed root.
ca() {
  key "$1.key"
  openssl req -new -x509 -key "$1.key" -out "$1.crt" -days "$DAYS" -sha256 \
    -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
}

server_ext() {
  cat > "$tmp/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
}

client_ext() {
  cat > "$tmp/client.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EXT
}

# leaf <name> <subject> <ext file> <ca name>: a certificate valid for $DAYS days.
leaf() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$tmp/$1.csr"
  openssl x509 -req -in "$tmp/$1.csr" -CA "$4.crt" -CAkey "$4.key" -CAcreateserial \
    -CAserial "$tmp/$4.srl" -days "$DAYS" -sha256 -extfile "$3" -out "$1.crt" 2>/dev/null
}

server_ext
client_ext

ca ca "kubestate test CA"
leaf server "/CN=localhost" "$tmp/server.ext" ca
leaf client "/O=system:masters/CN=kubestate" "$tmp/client.ext" ca

ca wrong-ca "kubestate wrong test CA"
leaf wrong-server "/CN=localhost" "$tmp/server.ext" wrong-ca

# expired: same CA and SANs as server.crt, but valid only during 2020-01-01.
# `openssl x509 -days` cannot produce a past validity, so use `openssl ca`
# with explicit dates and a throwaway database.
key expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out "$tmp/expired.csr"
: > "$tmp/index.txt"
echo 1000 > "$tmp/serial"
cat > "$tmp/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $tmp/index.txt
serial = $tmp/serial
new_certs_dir = $tmp
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ server_ext ]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
CNF
openssl ca -batch -config "$tmp/ca.cnf" -cert ca.crt -keyfile ca.key \
  -startdate 20200101000000Z -enddate 20200102000000Z -extensions server_ext \
  -notext -in "$tmp/expired.csr" -out expired.crt 2>/dev/null

for c in ca server client expired wrong-ca wrong-server; do
  printf '%-14s %s | %s\n' "$c.crt" "$(openssl x509 -in "$c.crt" -noout -subject)" \
    "$(openssl x509 -in "$c.crt" -noout -enddate)"
done
openssl verify -CAfile ca.crt server.crt client.crt >/dev/null
openssl verify -CAfile wrong-ca.crt wrong-server.crt >/dev/null
