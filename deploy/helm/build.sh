#!/usr/bin/env bash
# Builds the helm CLI (used by test/helm) from its Go module and prints the binary's
# path. The release is pinned below; the binary is cached outside the work tree, under
# ${AGENTSTATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agentstate}/helm/<version>/,
# so a warm machine reuses it and a change of the pin builds the new one.
# helm.sh/helm/v4 has no replace directives, so `go install pkg@version` builds it as
# released (no wrapper module, unlike deploy/daprd).
# HELM_PATH, if set, names an existing helm to use instead (a user's install).
set -euo pipefail

version=v4.3.1

if [[ -n "${HELM_PATH:-}" ]]; then
  [[ -x "$HELM_PATH" ]] || { echo "HELM_PATH=$HELM_PATH is not an executable" >&2; exit 1; }
  echo "$HELM_PATH"
  exit 0
fi

cache="${AGENTSTATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agentstate}/helm/${version}"
bin="$cache/helm"

if [[ ! -x "$bin" ]]; then
  command -v go >/dev/null || { echo "building helm needs Go (https://go.dev/dl) or HELM_PATH" >&2; exit 1; }
  mkdir -p "$cache"
  # A private GOBIN, then a rename: concurrent builds never see a half-written binary.
  tmp=$(mktemp -d "$cache/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "building helm ${version} into $cache (first run only; takes a few minutes)" >&2
  start=$(date +%s)
  # GOFLAGS is cleared: -mod=... from the environment is refused by `go install pkg@version`.
  GOBIN="$tmp" GOFLAGS= CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${version}" \
    "helm.sh/helm/v4/cmd/helm@${version}"
  mv -f "$tmp/helm" "$bin"
  echo "built helm ${version} in $(( $(date +%s) - start ))s" >&2
fi
echo "$bin"
