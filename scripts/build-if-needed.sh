#!/usr/bin/env bash
# Builds the production web app when there is no build or a source file is newer than it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stamp=".next/BUILD_ID"
if [ -f "$stamp" ] && [ -z "$(find app components lib public prisma/schema.prisma next.config.js postcss.config.mjs tsconfig.json package-lock.json -newer "$stamp" -type f -print -quit 2>/dev/null)" ]; then
  exit 0
fi
echo "signet: building the web app (next build)" >&2
next build >&2
