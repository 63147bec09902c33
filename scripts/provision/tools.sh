#!/usr/bin/env bash
# Provision the external tools Signet's tests need.
#
#   scripts/provision/tools.sh                  # provision all tools
#   scripts/provision/tools.sh cosign crane     # provision only some
#   eval "$(scripts/provision/tools.sh --print-env)"   # provision, then export
#
# Tools:
#   cosign    go install github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION
#   crane     go install github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION
#   helm      go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION
#   registry  Debian package docker-registry (CNCF distribution) -> /usr/bin/docker-registry
#   chromium  Debian package chromium                            -> /usr/bin/chromium
#   pdftotext Debian package poppler-utils                       -> /usr/bin/pdftotext (reads the PDF report in tests)
#   image     Debian packages buildah, skopeo, umoci, mmdebstrap (the container image, without a daemon)
#   crds      the OpenReports Report CRD from the Go module github.com/openreports/reports-api@$OPENREPORTS_VERSION
#
# Go-built tools land in $SIGNET_CACHE/tools/bin; GOPATH, GOMODCACHE and GOCACHE
# live under $SIGNET_CACHE/go, so caching $SIGNET_CACHE in CI caches everything.
# After a successful build the Go build and module caches (~3 GB for cosign)
# are pruned so that only the binaries (~150 MB) remain to be cached; set
# SIGNET_KEEP_GO_CACHE=1 to keep them.
# Idempotent: a tool already present at the pinned version is not rebuilt.
# Status lines ("<tool> <version>: <path> (cached|built|installed)") go to
# stdout, or to stderr with --print-env (stdout then carries only exports).
set -euo pipefail

COSIGN_VERSION="v3.1.3"
CRANE_VERSION="v0.22.1"
HELM_VERSION="v4.3.2"
OPENREPORTS_VERSION="v0.2.1"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
SIGNET_CACHE="${SIGNET_CACHE:-$REPO_ROOT/.cache}"
mkdir -p "$SIGNET_CACHE"
SIGNET_CACHE="$(cd "$SIGNET_CACHE" && pwd)"
TOOLS_BIN="$SIGNET_CACHE/tools/bin"

COSIGN_BIN="$TOOLS_BIN/cosign"
CRANE_BIN="$TOOLS_BIN/crane"
HELM_BIN="$TOOLS_BIN/helm"
OPENREPORTS_CRD="$SIGNET_CACHE/crds/openreports.io_reports-$OPENREPORTS_VERSION.yaml"
REGISTRY_BIN="/usr/bin/docker-registry"
CHROMIUM_BIN="/usr/bin/chromium"
PDFTOTEXT_BIN="/usr/bin/pdftotext"

print_env=0
tools=()
for arg in "$@"; do
  case "$arg" in
    --print-env) print_env=1 ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    cosign|crane|helm|registry|docker-registry|chromium|pdftotext|image|crds) tools+=("${arg/docker-registry/registry}") ;;
    *) echo "tools.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
[ "${#tools[@]}" -gt 0 ] || tools=(cosign crane helm registry chromium pdftotext image crds)

status() {
  if [ "$print_env" = 1 ]; then echo "$*" >&2; else echo "$*"; fi
}

# --- Go-built tools ----------------------------------------------------------
go_env() {
  export GOPATH="$SIGNET_CACHE/go"
  export GOMODCACHE="$SIGNET_CACHE/go/pkg/mod"
  export GOCACHE="$SIGNET_CACHE/go/cache"
  export GOBIN="$TOOLS_BIN"
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
  # -modcacherw keeps the module cache deletable (rm -rf .cache) without chmod.
  export GOFLAGS="-buildvcs=false -trimpath -modcacherw"
  unset GOWORK
}

# Version string a Go-built binary reports, or empty if absent/broken.
# `cosign version` / `crane version` fall back to the module version from the
# embedded build info, which `go install pkg@vX` sets to vX.
tool_version() {
  local bin="$1"
  [ -x "$bin" ] || return 0
  case "$(basename "$bin")" in
    cosign) "$bin" version 2>/dev/null | awk '/^GitVersion:/ {print $2}' || true ;;
    crane)  "$bin" version 2>/dev/null | head -n1 || true ;;
    helm)   "$bin" version --template '{{.Version}}' 2>/dev/null || true ;;
  esac
}

go_tool() {
  local name="$1" pkg="$2" version="$3" ldflags="${4:-}" bin="$TOOLS_BIN/$1" have
  have="$(tool_version "$bin")"
  if [ "$have" = "$version" ]; then
    status "$name $version: $bin (cached)"
    return 0
  fi
  command -v go >/dev/null || { echo "tools.sh: go not found on PATH (needed for $name)" >&2; exit 1; }
  mkdir -p "$TOOLS_BIN"
  (
    go_env
    # Build to a temp GOBIN then move into place, so an interrupted build never
    # leaves a half-written binary that looks installed.
    tmp="$(mktemp -d "$SIGNET_CACHE/tools/.build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    GOBIN="$tmp" go install ${ldflags:+-ldflags "$ldflags"} "$pkg@$version" >&2
    mv -f "$tmp/$name" "$bin"
  )
  have="$(tool_version "$bin")"
  if [ "$have" != "$version" ]; then
    echo "tools.sh: $name built but reports version '${have}', expected $version" >&2
    exit 1
  fi
  status "$name $version: $bin (built)"
  built_any=1
}

built_any=0
prune_go_cache() {
  [ "$built_any" = 1 ] && [ "${SIGNET_KEEP_GO_CACHE:-0}" != 1 ] || return 0
  ( go_env; go clean -cache -modcache ) >&2 || true
  rm -rf "$SIGNET_CACHE/go"
}

# --- CRDs from Go module zips -------------------------------------------------
go_module_file() {
  local name="$1" module="$2" version="$3" file="$4" out="$5"
  if [ -s "$out" ]; then status "$name $version: $out (cached)"; return 0; fi
  command -v go >/dev/null || { echo "tools.sh: go not found on PATH (needed for $name)" >&2; exit 1; }
  mkdir -p "$(dirname "$out")"
  local tmp dir
  tmp="$(mktemp -d "$SIGNET_CACHE/tools/.mod.XXXXXX")"
  dir="$(GOPATH="$tmp" GOMODCACHE="$tmp/mod" GOFLAGS=-modcacherw GOTOOLCHAIN=local go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  cp "$dir/$file" "$out.partial" && mv "$out.partial" "$out"
  rm -rf "$tmp"
  status "$name $version: $out (downloaded)"
}

# --- Debian packages ---------------------------------------------------------
apt_updated=0
apt_install() {
  local pkg="$1"
  if [ "$(id -u)" != 0 ]; then
    echo "tools.sh: $pkg is missing and installing it needs root (apt-get install $pkg)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local opts=(-y -q --no-install-recommends -o Dpkg::Use-Pty=0)
  if ! apt-get install "${opts[@]}" "$pkg" >&2; then
    if [ "$apt_updated" = 0 ]; then
      apt-get update -q >&2
      apt_updated=1
    fi
    apt-get install "${opts[@]}" "$pkg" >&2
  fi
}

deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

deb_tool() {
  local name="$1" pkg="$2" bin="$3" how="cached"
  if [ ! -x "$bin" ]; then
    apt_install "$pkg"
    how="installed"
    [ -x "$bin" ] || { echo "tools.sh: installed $pkg but $bin is missing" >&2; exit 1; }
  fi
  status "$name $(deb_version "$pkg"): $bin ($how)"
}

# --- main --------------------------------------------------------------------
mkdir -p "$TOOLS_BIN"
# Serialise concurrent runs (e.g. parallel CI steps) on the same cache.
if command -v flock >/dev/null; then
  exec 9>"$SIGNET_CACHE/tools/.lock"
  flock 9
fi

for t in "${tools[@]}"; do
  case "$t" in
    cosign)   go_tool cosign github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN_VERSION" ;;
    crane)    go_tool crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION" ;;
    # helm's release builds stamp the full version into the binary; without it, it reports only "v4.3"
    helm)     go_tool helm helm.sh/helm/v4/cmd/helm "$HELM_VERSION" "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" ;;
    registry) deb_tool docker-registry docker-registry "$REGISTRY_BIN" ;;
    chromium) deb_tool chromium chromium "$CHROMIUM_BIN" ;;
    pdftotext) deb_tool pdftotext poppler-utils "$PDFTOTEXT_BIN" ;;
    image)
      deb_tool buildah buildah /usr/bin/buildah
      deb_tool skopeo skopeo /usr/bin/skopeo
      deb_tool umoci umoci /usr/bin/umoci
      deb_tool mmdebstrap mmdebstrap /usr/bin/mmdebstrap
      ;;
    crds)     go_module_file openreports-crd github.com/openreports/reports-api "$OPENREPORTS_VERSION" config/crd/openreports.io_reports.yaml "$OPENREPORTS_CRD" ;;
  esac
done
prune_go_cache

if [ "$print_env" = 1 ]; then
  q() { printf '%q' "$1"; }
  echo "export SIGNET_CACHE=$(q "$SIGNET_CACHE")"
  echo "export PATH=$(q "$TOOLS_BIN"):\"\$PATH\""
  echo "export COSIGN_BIN=$(q "$COSIGN_BIN")"
  echo "export CRANE_BIN=$(q "$CRANE_BIN")"
  echo "export HELM_BIN=$(q "$HELM_BIN")"
  echo "export OPENREPORTS_CRD=$(q "$OPENREPORTS_CRD")"
  echo "export REGISTRY_BIN=$(q "$REGISTRY_BIN")"
  echo "export CHROMIUM_BIN=$(q "$CHROMIUM_BIN")"
  echo "export PDFTOTEXT_BIN=$(q "$PDFTOTEXT_BIN")"
fi
