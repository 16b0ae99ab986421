#!/usr/bin/env bash
# The demo on embedded defaults (needs only Node): three Highlander nodes, the embedded coordinator
# and a file state store (in .highlander-data/demo) in one process, the admin API with the
# dashboard, an audience session phones on the same network can join, and the seed's
# shared-todo-list workload. Prints the links and tokens, then a status line; Ctrl-C stops it.
# Options go to scripts/demo.ts (--help): --public-host, --public-url, --api-host, --new-tokens,
# --events, --duration, --nodes, --rate, --data, --audience-port, … With HIGHLANDER_ZK and
# HIGHLANDER_S3_BUCKET (see docs/configuration.md) it runs on your ZooKeeper and S3 instead;
# scripts/demo-local-servers.sh starts a local ZooKeeper and radosgw for it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build:dashboard
exec node --conditions=@highlander/source --import tsx scripts/demo.ts "$@"
