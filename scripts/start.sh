#!/usr/bin/env bash
# `npm start`: Node 24, dependencies, production build when needed, then web + worker (+ embedded
# PostgreSQL when DATABASE_URL is unset). Ctrl-C stops everything cleanly.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/bootstrap.sh
source "$root/scripts/bootstrap.sh"
# the production build skips Next's type-check here (34 s); `npm test` and `npm run typecheck` run tsc
SIGNET_BUILD_SKIP_TYPECHECK=1 bash "$root/scripts/build-if-needed.sh"
exec node --conditions=react-server --import tsx "$root/scripts/launch.ts" "$@"
