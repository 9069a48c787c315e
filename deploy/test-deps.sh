#!/usr/bin/env bash
# Makes sure the servers the integration tests start are on this machine: redis-server,
# PostgreSQL (initdb, postgres, createdb), daprd (built by deploy/daprd/build.sh), helm
# (built by deploy/helm/build.sh) and kube-apiserver with etcd (built by deploy/kube/build.sh).
# Run by `npm test` (pretest). Silent when everything is there.
#
# As root with apt-get, missing packages are installed. Otherwise it says what to
# install; that fails the run only under CI=true, because without CI the integration
# suites skip themselves and say why.
set -euo pipefail

usage() { echo "usage: $0 --check-or-install" >&2; exit 2; }
[[ $# -eq 1 && $1 == --check-or-install ]] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
problems=0

complain() {
  echo "test-deps: $*" >&2
  problems=$((problems + 1))
}

# Mirrors findPostgresBinDir in src/testing/harness/postgres.ts.
postgres_bin_dir() {
  local initdb dir
  if initdb=$(command -v initdb); then
    dir=$(dirname "$(readlink -f "$initdb")")
    if [[ -x $dir/postgres && -x $dir/createdb ]]; then echo "$dir"; return 0; fi
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -rn); do
    if [[ -x $dir/initdb && -x $dir/postgres && -x $dir/createdb ]]; then echo "$dir"; return 0; fi
  done
  return 1
}

missing_packages() {
  command -v redis-server >/dev/null || echo redis-server
  command -v redis-cli >/dev/null || echo redis-tools
  postgres_bin_dir >/dev/null || echo postgresql
  # The README's curl examples run as a test (test/readme/).
  command -v curl >/dev/null || echo curl
  command -v jq >/dev/null || echo jq
}

# The tests start their own servers on free ports; services that the packages would
# start (6379, 5432) are not needed, so they are kept from starting and stopped if they did.
apt_install() {
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    added_policy=1
  fi
  echo "test-deps: installing $* with apt-get" >&2
  local status=0
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } || status=$?
  [[ -z $added_policy ]] || rm -f "$policy"
  for service in redis-server postgresql; do
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
      systemctl stop "$service" >/dev/null 2>&1 || true
    elif command -v service >/dev/null; then
      service "$service" stop >/dev/null 2>&1 || true
    fi
  done
  return $status
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt_install "${missing[@]}" || complain "apt-get install ${missing[*]} failed"
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]} == 0)) || complain "still missing after apt-get: ${missing[*]}"
  elif command -v apt-get >/dev/null; then
    complain "integration tests need: sudo apt-get install -y ${missing[*]}"
  else
    complain "integration tests need ${missing[*]} (Redis and PostgreSQL server binaries) on PATH"
  fi
fi

if [[ $(id -u) -eq 0 ]] && postgres_bin_dir >/dev/null && ! id postgres >/dev/null 2>&1; then
  complain 'running as root, PostgreSQL needs a "postgres" user to run as (the postgresql package creates it)'
fi

[[ -f $root/node_modules/azurite/package.json ]] || complain "azurite is missing: run npm ci"

# The build scripts are silent when the binary is cached; a first build reports progress
# on stderr.
ensure_built() { # name, build script, variable that points at an installed binary, which one
  local name=$1 script=$2 override=$3 wanted=$4
  if [[ -z ${!override:-} ]] && ! command -v go >/dev/null; then
    bash "$script" >/dev/null 2>&1 ||
      complain "$name is neither cached nor buildable: install Go (https://go.dev/dl) or set $override to $wanted"
  else
    bash "$script" >/dev/null || complain "could not get $name (see above)"
  fi
}
ensure_built daprd "$here/daprd/build.sh" DAPRD_PATH "a daprd v1.18"
ensure_built helm "$here/helm/build.sh" HELM_PATH "a helm v4"
# The chart's install test (test/helm/install.int.test.ts) admits the chart into a real
# API server.
ensure_built kube-apiserver "$here/kube/build.sh" KUBE_APISERVER_PATH "a kube-apiserver v1.37 (and ETCD_PATH to an etcd v3.7)"

if ((problems > 0)); then
  if [[ ${CI:-} == true ]]; then
    echo "test-deps: failing because CI=true" >&2
    exit 1
  fi
  echo "test-deps: integration suites will be skipped until this is fixed" >&2
fi
exit 0
