#!/usr/bin/env bash
# Runs agentstate beside a Dapr sidecar on this machine, as it runs in Kubernetes:
# Redis on 127.0.0.1:6379 (started here unless one answers already), daprd with the
# components in ./components, and the worker with `--store dapr`. Everything listens on
# loopback only. Ctrl-C stops what this script started.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$root/node_modules/.bin:$PATH" # the project's Node 24

pids=()
cleanup() {
  trap - INT TERM EXIT
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

redis_answers() {
  local reply
  exec 3<>/dev/tcp/127.0.0.1/6379 || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3>&- 3<&-
  [[ $reply == +PONG* ]]
}

mkdir -p .agentstate/redis
if redis_answers 2>/dev/null; then
  echo "run-local: using the Redis already on 127.0.0.1:6379"
else
  command -v redis-server >/dev/null || { echo "run-local: install redis-server or start Redis on 127.0.0.1:6379" >&2; exit 1; }
  redis-server --bind 127.0.0.1 --port 6379 --dir "$root/.agentstate/redis" --appendonly yes &
  pids+=($!)
  for _ in $(seq 50); do redis_answers 2>/dev/null && break; sleep 0.1; done
  redis_answers 2>/dev/null || { echo "run-local: redis-server did not answer on 127.0.0.1:6379" >&2; exit 1; }
fi

# Without a Configuration, standalone daprd resolves app ids with mDNS, which
# multicasts on the LAN; a SQLite registry on disk keeps name resolution local.
cat >.agentstate/dapr-config.yaml <<EOF
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: agentstate-local
spec:
  nameResolution:
    component: sqlite
    version: v1
    configuration:
      connectionString: $root/.agentstate/dapr-names.db
EOF

daprd=$(bash deploy/daprd/build.sh)
# No --placement-host-address / --scheduler-host-address: actors, workflows and jobs
# stay off instead of dialling a control plane. Every listener is bound to loopback.
DAPR_HOST_IP=127.0.0.1 "$daprd" \
  --app-id agentstate --app-port 8080 --app-channel-address 127.0.0.1 \
  --dapr-http-port 3500 --dapr-grpc-port 50001 --dapr-listen-addresses 127.0.0.1 \
  --dapr-internal-grpc-listen-address 127.0.0.1 \
  --metrics-listen-address 127.0.0.1 --metrics-port 9090 \
  --resources-path components --config .agentstate/dapr-config.yaml &
pids+=($!)

DAPR_HTTP_PORT=3500 DAPR_GRPC_PORT=50001 PORT=8080 HOST=127.0.0.1 \
  AGENTSTATE_STATE_STORE=agentstate-state AGENTSTATE_PUBSUB=agentstate-pubsub \
  AGENTSTATE_BROADCAST_PUBSUB=agentstate-broadcast AGENTSTATE_BLOB_BINDING=agentstate-blobs \
  AGENTSTATE_SECRET_STORE=agentstate-secrets \
  npm start -- --store dapr &
pids+=($!)

echo "run-local: agentstate on http://127.0.0.1:8080, its sidecar on http://127.0.0.1:3500 (Ctrl-C stops)"
# When any of them ends, stop the rest.
wait -n
