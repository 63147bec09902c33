#!/usr/bin/env bash
# Sourced by start.sh and test.sh: Node 24 on PATH, dependencies installed when package-lock changed.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_bin="$(bash "$root/scripts/node24.sh")"
export PATH="$node_bin:$root/node_modules/.bin:$PATH"
stamp_file="$root/node_modules/.signet-install-stamp"
want="$(cat "$root/package.json" "$root/package-lock.json" 2>/dev/null | sha256sum | cut -c1-64)-$(node --version)"
if [ ! -f "$stamp_file" ] || [ "$(cat "$stamp_file")" != "$want" ]; then
  echo "signet: installing dependencies (npm ci)" >&2
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" > "$stamp_file"
fi
