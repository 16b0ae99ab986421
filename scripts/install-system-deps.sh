#!/usr/bin/env bash
# Installs the Debian packages the test harness, benchmarks and demo need, if they are missing:
# ZooKeeper (a real server for the coordinator) and Ceph radosgw with a mon and an osd (a real S3
# server with atomic conditional writes). With --browser, also Chromium for the dashboard tests and a
# colour emoji font (the audience page and the presenter view show emoji). With --promtool, also
# Debian's prometheus package for its promtool, which checks and unit-tests the alert rules in ops/
# (on a machine run by systemd the package also starts a Prometheus server on port 9090:
# `systemctl disable --now prometheus` stops it; promtool does not need it).
# Idempotent: prints nothing and touches nothing when every package is already installed.
#
# Usage: scripts/install-system-deps.sh [--browser] [--promtool]
set -euo pipefail

packages=(zookeeper radosgw ceph-mon ceph-osd ceph-common)
for arg in "$@"; do
  case "$arg" in
    --browser) packages+=(chromium fonts-noto-color-emoji) ;;
    --promtool) packages+=(prometheus) ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-system-deps: unknown argument '$arg' (expected --browser or --promtool)" >&2
      exit 2
      ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  # Installed means this status: a removed-but-not-purged package is known to dpkg too. (Not
  # `dpkg -s | grep -q` under pipefail: grep quits at the match, and dpkg's SIGPIPE failed the test.)
  if [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != 'install ok installed' ]; then
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
