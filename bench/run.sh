#!/usr/bin/env bash
# Installs what the benchmarks need, then runs them (release binaries must be
# built: `make bench` does that first).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
missing=""
for t in wrk haproxy nginx; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
if [ -n "$missing" ]; then
  echo "installing$missing"
  $SUDO apt-get update && $SUDO apt-get install -y $missing
fi
python3 bench/peers.py "$@"
# Memory per 1,000 connections: a burst, and idle keep-alive clients.
python3 bench/conns.py
