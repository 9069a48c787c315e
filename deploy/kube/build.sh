#!/usr/bin/env bash
# Builds kube-apiserver and etcd (used by the chart's install test, test/helm/) from the
# Go module beside this script, gathers the CustomResourceDefinitions the chart's objects
# need (Dapr's, from the github.com/dapr/dapr that deploy/daprd builds, and the Prometheus
# operator's ServiceMonitor and PrometheusRule), and prints three lines: the path of
# kube-apiserver, of etcd, and of the folder of CRD files.
# The release is the k8s.io/kubernetes pinned in go.mod; etcd is the go.etcd.io/etcd/server/v3
# that release requires. k8s.io/kubernetes points its k8s.io/* staging modules at folders
# of its own tree, so go.mod replaces them with the published modules of the same release
# (v0.X.Y for v1.X.Y); `go install k8s.io/kubernetes/...@version` cannot build it.
# The binaries are cached outside the work tree, keyed by a hash of the module's files,
# under ${AGENTSTATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agentstate}/kube/, so a
# warm machine reuses them and a change of the pin builds the new ones. The build runs
# under `nice`: it takes minutes of both cores on a first run.
# KUBE_APISERVER_PATH and ETCD_PATH, if both set, name existing binaries to use instead;
# KUBE_CRDS_DIR, if set, a folder of CRD files.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root="${AGENTSTATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agentstate}"
prometheus_operator_version=v0.85.0
dapr_version=$(sed -n 's/^\tgithub.com\/dapr\/dapr \(v[0-9.]*\)$/\1/p' "$here/../daprd/go.mod")

# The CRDs come out of the Go module proxy's copies of the two repositories: the same
# files their Helm charts install.
crds() {
  if [[ -n "${KUBE_CRDS_DIR:-}" ]]; then
    [[ -d "$KUBE_CRDS_DIR" ]] || { echo "KUBE_CRDS_DIR=$KUBE_CRDS_DIR is not a folder" >&2; exit 1; }
    echo "$KUBE_CRDS_DIR"
    return
  fi
  local dir="$cache_root/kube-crds/dapr-${dapr_version}-prometheus-operator-${prometheus_operator_version}"
  if [[ ! -f "$dir/.complete" ]]; then
    command -v go >/dev/null || { echo "fetching the CRDs needs Go (https://go.dev/dl) or KUBE_CRDS_DIR" >&2; exit 1; }
    local dapr prom tmp
    dapr=$(cd / && GOFLAGS= go mod download -json "github.com/dapr/dapr@${dapr_version}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    prom=$(cd / && GOFLAGS= go mod download -json "github.com/prometheus-operator/prometheus-operator@${prometheus_operator_version}" |
      sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    mkdir -p "$(dirname "$dir")"
    tmp=$(mktemp -d "$(dirname "$dir")/.crds.XXXXXX")
    for crd in components configuration resiliency subscription; do
      cp "$dapr/charts/dapr/crds/$crd.yaml" "$tmp/dapr-$crd.yaml"
    done
    for crd in servicemonitors prometheusrules; do
      cp "$prom/example/prometheus-operator-crd/monitoring.coreos.com_$crd.yaml" "$tmp/monitoring-$crd.yaml"
    done
    chmod -R u+w "$tmp"
    touch "$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  echo "$dir"
}

if [[ -n "${KUBE_APISERVER_PATH:-}" || -n "${ETCD_PATH:-}" ]]; then
  for var in KUBE_APISERVER_PATH ETCD_PATH; do
    [[ -x "${!var:-}" ]] || { echo "$var=${!var:-} is not an executable (set both or neither)" >&2; exit 1; }
  done
  echo "$KUBE_APISERVER_PATH"
  echo "$ETCD_PATH"
  crds
  exit 0
fi

version=$(sed -n 's/^\tk8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$here/go.mod")
etcd_version=$(sed -n 's/^\tgo.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' "$here/go.mod")
hash=$(cat "$here"/go.mod "$here"/go.sum "$here"/*/*.go | sha256sum | cut -c1-12)
cache="$cache_root/kube/${version}-${hash}"

build() { # name, package folder, ldflags
  local name=$1 dir=$2 ldflags=$3
  [[ ! -x "$cache/$name" ]] || return 0
  command -v go >/dev/null || {
    echo "building $name needs Go (https://go.dev/dl) or KUBE_APISERVER_PATH and ETCD_PATH" >&2
    exit 1
  }
  mkdir -p "$cache"
  echo "building $name into $cache (first run only; takes several minutes)" >&2
  local start tmp
  start=$(date +%s)
  # A private name, then a rename: concurrent builds never see a half-written binary.
  tmp=$(mktemp "$cache/.$name.XXXXXX")
  (cd "$here" && CGO_ENABLED=0 GOFLAGS=-mod=readonly nice go build -trimpath \
    -ldflags "-s -w $ldflags" -o "$tmp" "./$dir") || { rm -f "$tmp"; exit 1; }
  mv -f "$tmp" "$cache/$name"
  echo "built $name in $(( $(date +%s) - start ))s" >&2
}

minor=${version#v1.}
minor=${minor%%.*}
# Without these the server reports v0.0.0-master, which its own version checks and
# helm's kubeVersion checks do not take for a release.
build kube-apiserver kube-apiserver "\
 -X k8s.io/component-base/version.gitVersion=${version}\
 -X k8s.io/component-base/version.gitMajor=1\
 -X k8s.io/component-base/version.gitMinor=${minor}\
 -X k8s.io/component-base/version.gitTreeState=clean"
build etcd etcd "-X go.etcd.io/etcd/api/v3/version.GitSHA=${etcd_version}"

echo "$cache/kube-apiserver"
echo "$cache/etcd"
crds
