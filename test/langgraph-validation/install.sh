#!/usr/bin/env bash
# Installs this folder's own packages (LangGraph's validation suite and the vitest major
# it needs), once per lock file: the project's postinstall runs it, so `npm ci` leaves
# everything `npm test` needs. Peers (@langchain/*) come from the project's node_modules.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
stamp=node_modules/.agentstate-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then exit 0; fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
