#!/usr/bin/env bash
# Provision a real kube-apiserver and etcd for the Kubernetes tests (tests/support/kube-apiserver.ts).
#
#   scripts/provision/kube.sh                          # build if missing, print status
#   eval "$(scripts/provision/kube.sh --print-env)"    # build if missing, then export
#
# Both are built from the Go module proxy by the module in scripts/provision/kube-go (go.mod pins
# k8s.io/kubernetes and the etcd release it was tested with). Binaries land in $SIGNET_CACHE/kube/bin
# with a stamp of go.mod + go.sum; a matching stamp means "cached" and nothing runs but a hash.
# GOPATH, GOMODCACHE and GOCACHE live under $SIGNET_CACHE/kube/go and are pruned after a successful
# build (about 2 GB) unless SIGNET_KEEP_GO_CACHE=1. Concurrent runs are serialised with flock.
# Status lines ("<tool> <version>: <path> (cached|built)") go to stdout, or to stderr with
# --print-env (stdout then carries only export lines).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
MODULE_DIR="$SCRIPT_DIR/kube-go"
SIGNET_CACHE="${SIGNET_CACHE:-$REPO_ROOT/.cache}"
mkdir -p "$SIGNET_CACHE"
SIGNET_CACHE="$(cd "$SIGNET_CACHE" && pwd)"
KUBE_CACHE="$SIGNET_CACHE/kube"
KUBE_BIN_DIR="$KUBE_CACHE/bin"
KUBE_APISERVER_BIN="$KUBE_BIN_DIR/kube-apiserver"
ETCD_BIN="$KUBE_BIN_DIR/etcd"
STAMP="$KUBE_BIN_DIR/.stamp"

print_env=0
for arg in "$@"; do
  case "$arg" in
    --print-env) print_env=1 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kube.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

status() {
  if [ "$print_env" = 1 ]; then echo "$*" >&2; else echo "$*"; fi
}

# The version each binary must report, read from the pinned module graph.
k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$MODULE_DIR/go.mod")"
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2; exit}' "$MODULE_DIR/go.mod")"
[ -n "$k8s_version" ] && [ -n "$etcd_version" ] || { echo "kube.sh: cannot read pinned versions from $MODULE_DIR/go.mod" >&2; exit 1; }
want_stamp="$(cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum" | sha256sum | cut -d' ' -f1)"

is_cached() {
  [ -x "$KUBE_APISERVER_BIN" ] && [ -x "$ETCD_BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ]
}

go_env() {
  export GOPATH="$KUBE_CACHE/go"
  export GOMODCACHE="$KUBE_CACHE/go/pkg/mod"
  export GOCACHE="$KUBE_CACHE/go/cache"
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
  # -mod=readonly: the committed go.sum is the whole truth; -modcacherw keeps the cache deletable.
  export GOFLAGS="-buildvcs=false -trimpath -modcacherw -mod=readonly"
  unset GOWORK GOBIN
}

build() {
  command -v go >/dev/null || { echo "kube.sh: go not found on PATH (needed to build kube-apiserver and etcd)" >&2; exit 1; }
  mkdir -p "$KUBE_CACHE"
  (
    go_env
    tmp="$(mktemp -d "$KUBE_CACHE/.build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    cd "$MODULE_DIR"
    local_minor="${k8s_version#v1.}"; local_minor="${local_minor%%.*}"
    # The same version stamp the Kubernetes release build sets (hack/lib/version.sh), so that
    # /version and --version report the release instead of v0.0.0-master.
    ldflags="-s -w"
    for kv in "gitVersion=$k8s_version" "gitMajor=1" "gitMinor=$local_minor" "gitTreeState=clean"; do
      ldflags="$ldflags -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
    done
    start=$(date +%s)
    go build -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
    go build -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3 >&2
    status "kube: built kube-apiserver and etcd in $(( $(date +%s) - start )) s"
    mkdir -p "$KUBE_BIN_DIR"
    rm -f "$STAMP"
    mv -f "$tmp/kube-apiserver" "$KUBE_APISERVER_BIN"
    mv -f "$tmp/etcd" "$ETCD_BIN"
    echo "$want_stamp" > "$STAMP"
  )
  if [ "${SIGNET_KEEP_GO_CACHE:-0}" != 1 ]; then
    ( go_env; go clean -cache -modcache ) >&2 || true
    rm -rf "$KUBE_CACHE/go"
  fi
}

mkdir -p "$KUBE_CACHE"
if command -v flock >/dev/null; then
  exec 9>"$KUBE_CACHE/.lock"
  flock 9
fi

how="cached"
if ! is_cached; then
  build
  how="built"
fi

have_k8s="$("$KUBE_APISERVER_BIN" --version 2>/dev/null | awk '{print $2}' || true)"
have_etcd="$("$ETCD_BIN" --version 2>/dev/null | awk '/^etcd Version:/ {print $3}' || true)"
if [ "$have_k8s" != "$k8s_version" ] || [ "v$have_etcd" != "$etcd_version" ]; then
  echo "kube.sh: binaries report kube-apiserver '$have_k8s' and etcd 'v$have_etcd', expected $k8s_version and $etcd_version" >&2
  rm -f "$STAMP"
  exit 1
fi
status "kube-apiserver $k8s_version: $KUBE_APISERVER_BIN ($how)"
status "etcd $etcd_version: $ETCD_BIN ($how)"

if [ "$print_env" = 1 ]; then
  q() { printf '%q' "$1"; }
  echo "export KUBE_APISERVER_BIN=$(q "$KUBE_APISERVER_BIN")"
  echo "export ETCD_BIN=$(q "$ETCD_BIN")"
fi
