#!/usr/bin/env bash
# Provision policy-controller's own policy tester (github.com/sigstore/policy-controller cmd/tester),
# the reference the ClusterImagePolicy importer is tested against (tests/integration/policy-tester-*).
#
#   scripts/provision/policy-tester.sh                         # build if missing, print status
#   eval "$(scripts/provision/policy-tester.sh --print-env)"   # build if missing, then export
#
# `go install module@version` refuses policy-controller because its go.mod has replace directives, so
# the module is downloaded from the Go module proxy (`go mod download`), copied out of the module cache
# and built in place with its own go.mod / go.sum (-mod=mod lets the build fetch what go.sum pins).
# The binary lands in $SIGNET_CACHE/policy-tester/$VERSION/policy-tester (keyed by version, like
# cosign); GOPATH / GOMODCACHE / GOCACHE live under $SIGNET_CACHE/policy-tester/go and are pruned
# after a successful build unless SIGNET_KEEP_GO_CACHE=1. Concurrent runs are serialised with flock.
# Status lines go to stdout, or to stderr with --print-env (stdout then carries only export lines).
set -euo pipefail

POLICY_CONTROLLER_VERSION="v0.13.1"
MODULE="github.com/sigstore/policy-controller"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
SIGNET_CACHE="${SIGNET_CACHE:-$REPO_ROOT/.cache}"
mkdir -p "$SIGNET_CACHE"
SIGNET_CACHE="$(cd "$SIGNET_CACHE" && pwd)"
PT_CACHE="$SIGNET_CACHE/policy-tester"
PT_DIR="$PT_CACHE/$POLICY_CONTROLLER_VERSION"
POLICY_TESTER_BIN="$PT_DIR/policy-tester"

print_env=0
for arg in "$@"; do
  case "$arg" in
    --print-env) print_env=1 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "policy-tester.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

status() {
  if [ "$print_env" = 1 ]; then echo "$*" >&2; else echo "$*"; fi
}

go_env() {
  export GOPATH="$PT_CACHE/go"
  export GOMODCACHE="$PT_CACHE/go/pkg/mod"
  export GOCACHE="$PT_CACHE/go/cache"
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
  export GOFLAGS="-buildvcs=false -trimpath -modcacherw -mod=mod"
  unset GOWORK GOBIN
}

mkdir -p "$PT_CACHE"
if command -v flock >/dev/null; then
  exec 9>"$PT_CACHE/.lock"
  flock 9
fi

if [ -x "$POLICY_TESTER_BIN" ]; then
  status "policy-tester $POLICY_CONTROLLER_VERSION: $POLICY_TESTER_BIN (cached)"
else
  command -v go >/dev/null || { echo "policy-tester.sh: go not found on PATH" >&2; exit 1; }
  (
    go_env
    tmp="$(mktemp -d "$PT_CACHE/.build.XXXXXX")"
    trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
    # `go mod download` outside a module needs no go.mod; -json gives the unpacked directory.
    src="$(cd "$tmp" && go mod download -json "$MODULE@$POLICY_CONTROLLER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -n "$src" ] && [ -d "$src" ] || { echo "policy-tester.sh: go mod download gave no directory" >&2; exit 1; }
    cp -R "$src" "$tmp/src"
    chmod -R u+w "$tmp/src"
    (cd "$tmp/src" && go build -ldflags "-s -w" -o "$tmp/policy-tester" ./cmd/tester) >&2
    mkdir -p "$PT_DIR"
    mv -f "$tmp/policy-tester" "$POLICY_TESTER_BIN"
  )
  [ -x "$POLICY_TESTER_BIN" ] || { echo "policy-tester.sh: build produced no binary" >&2; exit 1; }
  status "policy-tester $POLICY_CONTROLLER_VERSION: $POLICY_TESTER_BIN (built)"
  if [ "${SIGNET_KEEP_GO_CACHE:-0}" != 1 ]; then
    ( go_env; go clean -cache -modcache ) >&2 || true
    rm -rf "$PT_CACHE/go"
  fi
fi

if [ "$print_env" = 1 ]; then
  printf 'export POLICY_TESTER_BIN=%q\n' "$POLICY_TESTER_BIN"
fi
