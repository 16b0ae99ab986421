#!/usr/bin/env bash
# The demo: installs what is missing, then starts ZooKeeper, radosgw and three Highlander nodes on
# loopback with the seed's shared-todo-list workload, printing lifecycle events live. Ctrl-C stops it.
# Options go to scripts/demo.ts: --duration <s>, --nodes <n>, --rate <steps/s>, --idle-timeout-ms <ms>.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build:dashboard
exec node --import tsx scripts/demo.ts "$@"
