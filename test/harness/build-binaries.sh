#!/usr/bin/env bash
# Builds, once, the Kubernetes test binaries Sluice's tests and demo run against, from the
# Go module proxy, into a cache outside the repository. Prints the bin directory on stdout.
#
# Why a wrapper module: k8s.io/kubernetes and etcd's server module map their sibling modules
# with `replace => ./staging/...` lines, which `go install pkg@version` ignores. A module of our
# own that requires them and repeats every replace against the published versions builds fine.
set -euo pipefail

K8S_VERSION="${SLUICE_K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${SLUICE_ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${SLUICE_HELM_VERSION:-v4.3.1}"
CACHE="${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}"
BIN="$CACHE/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"
WANT=(kube-apiserver kubectl etcd helm)

log() { printf 'build-binaries: %s\n' "$*" >&2; }

have_all() { for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || return 1; done; }
if have_all; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || { log "Go is required (used only to build test binaries)"; exit 1; }
mkdir -p "$BIN" "$CACHE/src"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

# One build at a time, even when the test command and the demo start together.
exec 9>"$CACHE/build.lock"
flock 9
if have_all; then echo "$BIN"; exit 0; fi

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
staging_version="v0.${K8S_VERSION#v1.}"

build_kube() {
  local dir="$CACHE/src/kubernetes-$K8S_VERSION"
  mkdir -p "$dir"
  local modfile
  modfile=$(cd "$dir" && [ -f go.mod ] || go mod init sluice.test/kube >/dev/null 2>&1; cd "$dir" &&
    go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  {
    echo "module sluice.test/kube"
    echo
    echo "go 1.26.0"
    echo
    echo "godebug default=go1.26"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    # Every staging module the published go.mod maps to ./staging gets its published twin.
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9.-]*\) => ./staging/.*#replace \1 => \1 '"$staging_version"'#p' "$modfile"
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  local ldflags=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
  for cmd in kube-apiserver kubectl; do
    [ -x "$BIN/$cmd" ] && continue
    log "building $cmd $K8S_VERSION (first time only; several minutes)"
    (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
    mv "$BIN/$cmd.tmp" "$BIN/$cmd"
  done
}

build_etcd() {
  [ -x "$BIN/etcd" ] && return
  local dir="$CACHE/src/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module sluice.test/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
MOD
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
  log "building etcd $ETCD_VERSION"
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$BIN/etcd.tmp" "$BIN/etcd"
}

build_helm() {
  [ -x "$BIN/helm" ] && return
  local major="${HELM_VERSION%%.*}"
  log "building helm $HELM_VERSION"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/$major/cmd/helm@$HELM_VERSION"
}

build_etcd
build_helm
build_kube
have_all || { log "some binaries are missing in $BIN"; exit 1; }
echo "$BIN"
