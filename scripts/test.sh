#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine or a developer's: installs what is missing
# (Debian packages, then npm packages with `npm ci`), type-checks, and runs every test against
# real ZooKeeper, radosgw and node processes started by the harness, and the dashboard in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh --browser --promtool
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "== type-check"
npx tsc -p .
npx svelte-check --workspace dashboard --tsconfig tsconfig.json --fail-on-warnings --output machine
echo "== build (packages with tsc, the dashboard with vite)"
npm run --silent build
echo "== package walls (dependency-cruiser) and package manifests (publint)"
npm run --silent check:deps
npm run --silent check:packages
echo "== tests"
npx vitest run "$@"
