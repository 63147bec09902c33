#!/usr/bin/env bash
# Builds the local stand-in for the Containerfile's default base image (node:24-bookworm-slim) when no
# public registry is reachable: a Debian bookworm rootfs from Debian's own packages (mmdebstrap), the
# project's Node 24 (scripts/node24.sh) and npm from the npm registry, a `node` user (uid 1000), as an
# OCI archive. Prints the archive's path. Cached under $SIGNET_CACHE/image by a hash of this script.
#
#   bash scripts/image/base.sh            # → $SIGNET_CACHE/image/base-<hash>.oci.tar
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${SIGNET_CACHE:-$root/.cache}/image"
NPM_VERSION="11.21.3"
SUITE="bookworm"
mkdir -p "$cache"
node_bin="$(bash "$root/scripts/node24.sh")"
node_version="$("$node_bin/node" --version)"
key="$( (cat "${BASH_SOURCE[0]}"; echo "$node_version $NPM_VERSION") | sha256sum | cut -c1-16)"
out="$cache/base-$key.oci.tar"
if [ -f "$out" ]; then echo "$out"; exit 0; fi

exec 9>"$cache/.base.lock"
flock 9
if [ -f "$out" ]; then echo "$out"; exit 0; fi
for tool in mmdebstrap buildah; do
  command -v "$tool" >/dev/null || { echo "base.sh: $tool missing (bash scripts/provision/image.sh installs it)" >&2; exit 1; }
done
work="$(mktemp -d "$cache/.base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "base.sh: fetching npm $NPM_VERSION" >&2
(cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null && mkdir npm && tar xzf npm-*.tgz -C npm --strip-components=1)
echo "base.sh: building a $SUITE rootfs with mmdebstrap" >&2
# Only what Node, npm and the image's entry point need, unpacked without maintainer scripts (the
# `extract` variant): glibc, libstdc++, dash as /bin/sh, coreutils. No apt, perl or systemd: ~30 MB.
# Node verifies TLS with its own CA bundle. The users are written here (base-passwd's scripts do not run).
mmdebstrap --variant=extract --include=libc6,libstdc++6,libgcc-s1,dash,coreutils,base-files,netbase \
  "$SUITE" "$work/rootfs" http://deb.debian.org/debian >&2
r="$work/rootfs"
rm -rf "$r"/usr/share/man "$r"/usr/share/doc "$r"/usr/share/locale "$r"/usr/share/info "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* "$r"/var/log/*
ln -sf dash "$r/bin/sh"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$r/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' > "$r/etc/group"
mkdir -p "$r/home/node" "$r/root" "$r/tmp" "$r/usr/local/bin" "$r/usr/local/lib/node_modules"
chown 1000:1000 "$r/home/node"
chmod 1777 "$r/tmp"
cp "$node_bin/node" "$r/usr/local/bin/node"
cp -a "$work/npm" "$r/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
tar -C "$r" --numeric-owner -cf "$work/rootfs.tar" .
echo "base.sh: committing the base image" >&2
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
ctr="$(buildah from scratch)"
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
buildah add --quiet "$ctr" "$work/rootfs.tar" / >&2
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="${node_version#v}" \
  --cmd node --label org.opencontainers.image.description="Debian $SUITE + Node $node_version (local stand-in for node:24-$SUITE-slim)" "$ctr"
buildah commit --quiet --format oci "$ctr" "oci-archive:$work/base.oci.tar" >&2
mv "$work/base.oci.tar" "$out"
echo "$out"
