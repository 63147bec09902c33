#!/usr/bin/env bash
# Runs a command with Node 24 first on PATH (and node_modules/.bin after it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$(bash "$root/scripts/node24.sh")"
export PATH="$bin:$root/node_modules/.bin:$PATH"
exec "$@"
