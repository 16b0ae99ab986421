#!/usr/bin/env bash
# The demo on a real ZooKeeper and S3 (Ceph radosgw), both started on loopback: installs the Debian
# packages when missing (zookeeper, radosgw, ceph), then runs scripts/demo.ts --local-servers with
# the node and admin API processes on them. Same options as scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build:dashboard
exec node --conditions=@highlander/source --import tsx scripts/demo.ts --local-servers "$@"
