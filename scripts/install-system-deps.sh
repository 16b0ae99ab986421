#!/usr/bin/env bash
# Installs the Debian packages the test harness, benchmarks and demo need, if they are missing:
# ZooKeeper (a real server for the coordinator) and Ceph radosgw with a mon and an osd (a real S3
# server with atomic conditional writes). With --browser, also Chromium for the dashboard tests and a
# colour emoji font (the audience page and the presenter view show emoji).
# Idempotent: prints nothing and touches nothing when every package is already installed.
#
# Usage: scripts/install-system-deps.sh [--browser]
set -euo pipefail

packages=(zookeeper radosgw ceph-mon ceph-osd ceph-common)
for arg in "$@"; do
  case "$arg" in
    --browser) packages+=(chromium fonts-noto-color-emoji) ;;
    -h | --help)
      sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-system-deps: unknown argument '$arg' (expected --browser)" >&2
      exit 2
      ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  # dpkg -s succeeds for removed-but-not-purged packages too, hence the check of the Status line.
  if ! dpkg -s "$package" 2>/dev/null | grep -qx 'Status: install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-system-deps: missing ${missing[*]}, and not root and no sudo to install them" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "install-system-deps: installing ${missing[*]}"
echo "+ apt-get update"
"${sudo[@]}" apt-get update
echo "+ apt-get install -y --no-install-recommends ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-system-deps: done"
