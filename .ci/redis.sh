#!/usr/bin/env bash
# Redis for the tests of what replicas share (rate limits, job polling, console sessions), from Debian's packages.
# Tests start their own throwaway redis-server processes (on free loopback ports, no persistence) so that they can
# also stop them; this only makes sure the binary is there. Needs root (or sudo) for apt-get.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis.sh: installing redis-server from Debian's packages" >&2
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >&2
  as_root apt-get install -y -qq redis-server >&2
fi
redis-server --version >&2
