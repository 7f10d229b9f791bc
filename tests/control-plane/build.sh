#!/usr/bin/env bash
# Builds the real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) and the real stakater/Reloader from pinned Go modules, into a cache
# outside the clone keyed by version. A second run on the same machine builds nothing.
#
# Usage: tests/control-plane/build.sh [control-plane|reloader|all]   (default: control-plane)
# Prints the cache folder holding the binaries as its last stdout line.
# Cache: $RELOAD_CP_CACHE, or ~/.cache/reload-rs/control-plane.
#
# Nothing from these modules is copied into the repository: the wrapper modules are written to a
# temporary folder, and kwok's Stage configs are read from the Go module cache at run time.
set -euo pipefail

# ---- every pinned version, in one place ------------------------------------------------------
K8S_VERSION=v1.37.2       # k8s.io/kubernetes; staging modules at v0.37.2
ETCD_VERSION=v3.6.16      # go.etcd.io/etcd/server/v3
KWOK_VERSION=v0.8.0       # sigs.k8s.io/kwok
RELOADER_VERSION=v1.4.22  # github.com/stakater/Reloader (the only version the proxy serves)
# Reloader's go.mod pins an openshift/api pseudo-version the proxy refuses; this is the one its
# openshift/client-go requires.
OPENSHIFT_API=v0.0.0-20260326111139-30c2ef7a272e
STAGING_MODULES="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
cloud-provider cluster-bootstrap code-generator component-base component-helpers
controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler
kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver sample-cli-plugin
sample-controller streaming"
# -----------------------------------------------------------------------------------------------

what="${1:-control-plane}"
cache_root="${RELOAD_CP_CACHE:-$HOME/.cache/reload-rs/control-plane}"
log() { echo "control-plane build: $*" >&2; }
die() { echo "control-plane build: error: $*" >&2; exit 1; }

command -v go >/dev/null || die "no 'go' on PATH: the real control plane is built from Go modules (Go 1.26 or newer)"

k8s_staging_minor() { local v="${K8S_VERSION#v1.}"; echo "v0.${v}"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# build_k8s OUT_DIR: kube-apiserver, kube-controller-manager, kube-scheduler from one wrapper.
build_k8s() {
  local out="$1" staging; staging="$(k8s_staging_minor)"
  local bins="kube-apiserver kube-controller-manager kube-scheduler" missing=""
  for b in $bins; do [[ -x "$out/$b" ]] || missing="$missing $b"; done
  [[ -z "$missing" ]] && { log "k8s $K8S_VERSION cached in $out"; return; }
  log "building$missing from k8s.io/kubernetes $K8S_VERSION (cold: about 6 minutes on 2 cores)"
  local mod="$work/k8s"; mkdir -p "$mod"
  {
    echo "module reloadrs.local/k8s"
    echo "go 1.26"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo "replace ("
    for m in $STAGING_MODULES; do echo "  k8s.io/$m => k8s.io/$m $staging"; done
    echo ")"
  } >"$mod/go.mod"
  {
    echo "//go:build tools"
    echo "package tools"
    echo "import ("
    for b in $bins; do echo "  _ \"k8s.io/kubernetes/cmd/$b\""; done
    echo ")"
  } >"$mod/tools.go"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  (cd "$mod" && go mod tidy) || die "go mod tidy of the k8s.io/kubernetes $K8S_VERSION wrapper failed (is the Go module proxy reachable?)"
  mkdir -p "$out"
  for b in $missing; do
    log "go build $b"
    (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$b.tmp" "k8s.io/kubernetes/cmd/$b") \
      || die "go build of $b ($K8S_VERSION) failed"
    mv "$out/$b.tmp" "$out/$b"
  done
}

build_etcd() {
  local out="$1"
  [[ -x "$out/etcd" ]] && { log "etcd $ETCD_VERSION cached in $out"; return; }
  log "building etcd from go.etcd.io/etcd/server/v3 $ETCD_VERSION (cold: about 30 s)"
  local mod="$work/etcd"; mkdir -p "$mod"
  printf 'module reloadrs.local/etcd\ngo 1.26\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$mod/go.mod"
  printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$mod/tools.go"
  (cd "$mod" && go mod tidy) || die "go mod tidy of the etcd $ETCD_VERSION wrapper failed (is the Go module proxy reachable?)"
  mkdir -p "$out"
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3) \
    || die "go build of etcd $ETCD_VERSION failed"
  mv "$out/etcd.tmp" "$out/etcd"
}

build_kwok() {
  local out="$1"
  if [[ ! -x "$out/kwok" ]]; then
    log "building kwok from sigs.k8s.io/kwok $KWOK_VERSION (cold: about 80 s)"
    mkdir -p "$out"
    GOBIN="$out" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" \
      || die "go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION failed"
  else
    log "kwok $KWOK_VERSION cached in $out"
  fi
  # kwok needs its Stage configs; they stay in the Go module cache, and we record where.
  local dir
  dir="$(cd "$work" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$dir/kustomize/stage" ]] || die "kwok's Stage configs not found under '$dir/kustomize/stage'"
  echo "$dir/kustomize/stage" >"$out/kwok-stages.path"
}

build_reloader() {
  local out="$1"
  [[ -x "$out/reloader" ]] && { log "stakater Reloader $RELOADER_VERSION cached in $out"; return; }
  log "building stakater Reloader $RELOADER_VERSION (cold: about 4 minutes)"
  local gomod
  gomod="$(cd "$work" && go mod download -json "github.com/stakater/Reloader@$RELOADER_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [[ -f "$gomod" ]] || die "go mod download github.com/stakater/Reloader@$RELOADER_VERSION failed (proxy refused?)"
  local mod="$work/reloader"; mkdir -p "$mod"
  {
    echo "module reloadrs.local/reloader"
    echo "go 1.26"
    echo "require github.com/stakater/Reloader $RELOADER_VERSION"
    # Repeat Reloader's own replace lines (go install refuses a module that has them).
    awk '/^replace \(/{inblock=1; print; next} inblock{print; if ($0 ~ /^\)/) inblock=0; next} /^replace /{print}' "$gomod" \
      | grep -v 'github.com/openshift/api ' || true
    echo "replace github.com/openshift/api => github.com/openshift/api $OPENSHIFT_API"
  } >"$mod/go.mod"
  printf '//go:build tools\npackage tools\nimport _ "github.com/stakater/Reloader"\n' >"$mod/tools.go"
  (cd "$mod" && go mod tidy) || die "go mod tidy of the Reloader $RELOADER_VERSION wrapper failed"
  mkdir -p "$out"
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/reloader.tmp" github.com/stakater/Reloader) \
    || die "go build of stakater Reloader $RELOADER_VERSION failed"
  mv "$out/reloader.tmp" "$out/reloader"
}

cp_dir="$cache_root/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
case "$what" in
  control-plane) build_etcd "$cp_dir"; build_k8s "$cp_dir"; build_kwok "$cp_dir"; echo "$cp_dir" ;;
  reloader) d="$cache_root/stakater-reloader-$RELOADER_VERSION"; build_reloader "$d"; echo "$d" ;;
  all) build_etcd "$cp_dir"; build_k8s "$cp_dir"; build_kwok "$cp_dir"
       build_reloader "$cache_root/stakater-reloader-$RELOADER_VERSION"; echo "$cp_dir" ;;
  *) die "unknown target '$what' (control-plane, reloader or all)" ;;
esac
