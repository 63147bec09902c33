#!/usr/bin/env bash
# Provision Kyverno's CustomResourceDefinitions for the importer tests (real schemas, applied to the real
# kube-apiserver of tests/support/kube-apiserver.ts): ClusterPolicy, Policy, ImageValidatingPolicy and
# NamespacedImageValidatingPolicy, taken from the Go module zip of github.com/kyverno/kyverno (Go module
# proxy) and cached in $SIGNET_CACHE/kyverno-crds/$VERSION (keyed by version). The module cache used for
# the download is removed afterwards.
#
#   scripts/provision/kyverno-crds.sh                          # fetch if missing, print status
#   eval "$(scripts/provision/kyverno-crds.sh --print-env)"    # fetch if missing, then export KYVERNO_CRDS_DIR
set -euo pipefail

KYVERNO_VERSION="v1.19.1"
MODULE="github.com/kyverno/kyverno"
FILES=(
  config/crds/kyverno/kyverno.io_clusterpolicies.yaml
  config/crds/kyverno/kyverno.io_policies.yaml
  config/crds/policies.kyverno.io/policies.kyverno.io_imagevalidatingpolicies.yaml
  config/crds/policies.kyverno.io/policies.kyverno.io_namespacedimagevalidatingpolicies.yaml
)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
SIGNET_CACHE="${SIGNET_CACHE:-$REPO_ROOT/.cache}"
mkdir -p "$SIGNET_CACHE"
SIGNET_CACHE="$(cd "$SIGNET_CACHE" && pwd)"
BASE="$SIGNET_CACHE/kyverno-crds"
OUT="$BASE/$KYVERNO_VERSION"

print_env=0
for arg in "$@"; do
  case "$arg" in
    --print-env) print_env=1 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kyverno-crds.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
status() { if [ "$print_env" = 1 ]; then echo "$*" >&2; else echo "$*"; fi; }

mkdir -p "$BASE"
if command -v flock >/dev/null; then
  exec 9>"$BASE/.lock"
  flock 9
fi

complete() { for f in "${FILES[@]}"; do [ -s "$OUT/$(basename "$f")" ] || return 1; done; }

if complete; then
  status "kyverno-crds $KYVERNO_VERSION: $OUT (cached)"
else
  command -v go >/dev/null || { echo "kyverno-crds.sh: go not found on PATH" >&2; exit 1; }
  tmp="$(mktemp -d "$BASE/.fetch.XXXXXX")"
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
  dir="$(cd "$tmp" && GOPATH="$tmp/go" GOMODCACHE="$tmp/go/pkg/mod" GOFLAGS="-modcacherw" GOTOOLCHAIN=local \
    go mod download -json "$MODULE@$KYVERNO_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "kyverno-crds.sh: go mod download gave no directory" >&2; exit 1; }
  mkdir -p "$tmp/out"
  for f in "${FILES[@]}"; do cp "$dir/$f" "$tmp/out/"; done
  chmod u+w "$tmp"/out/*
  rm -rf "$OUT"
  mv "$tmp/out" "$OUT"
  status "kyverno-crds $KYVERNO_VERSION: $OUT (fetched)"
fi

if [ "$print_env" = 1 ]; then
  printf 'export KYVERNO_CRDS_DIR=%q\n' "$OUT"
fi
