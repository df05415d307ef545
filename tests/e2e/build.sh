#!/usr/bin/env bash
# Builds the control-plane binaries the end-to-end suite runs (etcd and kube-apiserver) from
# the Go module proxy, at the exact versions pinned in tests/e2e/{etcd,kube-apiserver}/go.mod
# (with go.sum committed, so the build is reproducible).
#
# Binaries are cached under ${KUBESTATE_E2E_CACHE:-$HOME/.cache/kubestate-e2e}/<version>/ and
# reused on later runs. Prints the cached paths as `ETCD_BIN=...` / `KUBE_APISERVER_BIN=...`
# on stdout (everything else goes to stderr), so callers can `eval "$(build.sh)"`.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${KUBESTATE_E2E_CACHE:-$HOME/.cache/kubestate-e2e}"

log() { echo "e2e-build: $*" >&2; }

command -v go >/dev/null 2>&1 || { log "go not found (need Go >= 1.26)"; exit 1; }

# The version of a required module, read from a wrapper's go.mod.
mod_version() { # <go.mod> <module>
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

etcd_version="$(mod_version "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)"
kube_version="$(mod_version "$here/kube-apiserver/go.mod" k8s.io/kubernetes)"
[ -n "$etcd_version" ] && [ -n "$kube_version" ] || { log "cannot read pinned versions"; exit 1; }

build() { # <name> <wrapper dir> <version> [ldflags]
  local name="$1" dir="$2" version="$3" ldflags="${4:-}"
  local out="$cache/$version/$name"
  if [ -x "$out" ]; then
    log "$name $version: cached at $out"
    return 0
  fi
  mkdir -p "$cache/$version"
  log "$name $version: building (module downloads on first use) ..."
  local start=$SECONDS tmp="$out.tmp.$$"
  (cd "$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -buildvcs=false -ldflags "-s -w $ldflags" -o "$tmp" .)
  mv -f "$tmp" "$out"
  log "$name $version: built in $((SECONDS - start)) s"
}

total=$SECONDS
build etcd "$here/etcd" "$etcd_version"

# Without these the server reports v0.0.0-master.
kv="${kube_version#v}"
major="${kv%%.*}"; rest="${kv#*.}"; minor="${rest%%.*}"
vflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  vflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  vflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
build kube-apiserver "$here/kube-apiserver" "$kube_version" "$vflags"
log "done in $((SECONDS - total)) s"

echo "ETCD_BIN=$cache/$etcd_version/etcd"
echo "KUBE_APISERVER_BIN=$cache/$kube_version/kube-apiserver"
