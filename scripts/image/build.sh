#!/usr/bin/env bash
# Builds Signet's container image from the Containerfile with buildah (no Docker daemon needed) and
# prints the path of the OCI archive. Cached under $SIGNET_CACHE/image by a hash of its inputs: the
# build context (the files git knows, minus .dockerignore), the Containerfile and the base image; a
# changed input builds anew (the old archive is dropped), an unchanged one costs a few hundred ms.
#
#   bash scripts/image/build.sh                 # base: the local Debian + Node image of base.sh
#   BASE_IMAGE=docker.io/library/node:24-bookworm-slim bash scripts/image/build.sh   # where a registry is reachable
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export SIGNET_CACHE="${SIGNET_CACHE:-$root/.cache}"
cache="$SIGNET_CACHE/image"
mkdir -p "$cache"
node_bin="$(bash "$root/scripts/node24.sh")"
export PATH="$node_bin:$PATH"

if [ -n "${BASE_IMAGE:-}" ]; then
  base_ref="$BASE_IMAGE"
  base_id="$BASE_IMAGE"
else
  base_archive="$(bash "$root/scripts/image/base.sh")"
  base_id="$(basename "$base_archive" .oci.tar)"
  base_ref="localhost/signet-base:${base_id#base-}"
fi

# The hash of the build context: every file git tracks or would track, minus .dockerignore's entries.
key="$(cd "$root" && git ls-files -z -co --exclude-standard | node -e '
  const fs = require("node:fs"), crypto = require("node:crypto");
  const ignore = fs.readFileSync(".dockerignore", "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const glob = (p) => new RegExp("^" + p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*") + "(/.*)?$");
  const rules = ignore.map(glob);
  const files = fs.readFileSync(0, "utf8").split("\0").filter(Boolean).filter((f) => !rules.some((r) => r.test(f)) && fs.existsSync(f)).sort();
  const h = crypto.createHash("sha256");
  h.update(process.argv[1] + "\n");
  for (const f of files) h.update(f + "\0" + crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex") + "\n");
  process.stdout.write(h.digest("hex").slice(0, 16));
' "$base_id")"
out="$cache/signet-$key.oci.tar"
if [ -f "$out" ]; then echo "$out"; exit 0; fi

exec 9>"$cache/.build.lock"
flock 9
if [ -f "$out" ]; then echo "$out"; exit 0; fi
command -v buildah >/dev/null || { echo "build.sh: buildah missing (bash scripts/provision/tools.sh image installs it)" >&2; exit 1; }
# buildah's own storage (layers reused between builds on this machine; not part of the cache)
export STORAGE_DRIVER="${STORAGE_DRIVER:-overlay}"
storage=(--root "${SIGNET_BUILDAH_ROOT:-/var/tmp/signet-buildah/storage}" --runroot "${SIGNET_BUILDAH_RUNROOT:-/var/tmp/signet-buildah/run}")
if [ -n "${base_archive:-}" ] && ! buildah "${storage[@]}" inspect --type image "$base_ref" >/dev/null 2>&1; then
  base_image_id="$(buildah "${storage[@]}" pull --quiet "oci-archive:$base_archive" | tail -n1)"
  buildah "${storage[@]}" tag "$base_image_id" "$base_ref"
fi
echo "build.sh: building the image (buildah, base $base_ref)" >&2
started=$(date +%s)
# chroot isolation: no OCI runtime or daemon needed; the build stage reaches the npm registry, through
# this machine's CA certificates when it has extra ones (a TLS-intercepting proxy)
secret=()
ca="${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}"
if [ -n "$ca" ] && [ "$ca" != null ] && [ -f "$ca" ]; then secret=(--secret "id=npm-ca,src=$ca"); fi
buildah "${storage[@]}" build --isolation chroot --network host --layers --pull=false "${secret[@]}" \
  --build-arg "BASE_IMAGE=$base_ref" -f "$root/Containerfile" -t "localhost/signet:$key" "$root" >&2
tmp="$cache/.signet-$key.$$.oci.tar"
buildah "${storage[@]}" push --quiet "localhost/signet:$key" "oci-archive:$tmp:localhost/signet:$key" >&2
for old in "$cache"/signet-*.oci.tar; do [ -e "$old" ] && rm -f "$old"; done
mv "$tmp" "$out"
echo "build.sh: built in $(( $(date +%s) - started )) s" >&2
echo "$out"
