#!/usr/bin/env bash
# Builds daprd from the Go module beside this script and prints the binary's path.
# The binary is cached outside the work tree, keyed by a hash of the module's files,
# so a warm machine reuses it and a change to the pinned release rebuilds it.
# DAPRD_PATH, if set, names an existing daprd to use instead (a user's Dapr install).
set -euo pipefail

if [[ -n "${DAPRD_PATH:-}" ]]; then
  [[ -x "$DAPRD_PATH" ]] || { echo "DAPRD_PATH=$DAPRD_PATH is not an executable" >&2; exit 1; }
  echo "$DAPRD_PATH"
  exit 0
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(sed -n 's/^\tgithub.com\/dapr\/dapr \(v[0-9.]*\)$/\1/p' "$here/go.mod")
hash=$(cat "$here"/go.mod "$here"/go.sum "$here"/*.go | sha256sum | cut -c1-12)
cache="${AGENTSTATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agentstate}/daprd/${version}-${hash}"
bin="$cache/daprd"

if [[ ! -x "$bin" ]]; then
  command -v go >/dev/null || { echo "building daprd needs Go (https://go.dev/dl) or DAPRD_PATH" >&2; exit 1; }
  mkdir -p "$cache"
  echo "building daprd ${version} into $cache (first run only; takes several minutes)" >&2
  start=$(date +%s)
  # A build of its own, renamed into place: two builds at once (CI and a test run on a
  # cold machine) must not move each other's half-written file.
  tmp=$(mktemp "$cache/.daprd.XXXXXX")
  (cd "$here" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
    -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${version#v}" \
    -o "$tmp" .) || { rm -f "$tmp"; exit 1; }
  mv -f "$tmp" "$bin"
  echo "built daprd ${version} in $(( $(date +%s) - start ))s" >&2
fi
echo "$bin"
