#!/usr/bin/env bash
# Builds the production web app when there is no build or a source file is newer than it.
# The stamp is the time the last build STARTED (.next/.signet-build-started, touched before `next build`
# and kept only when it succeeds): a file edited while a build ran is newer than it, so the next run
# builds again. (.next/BUILD_ID, written at the end of the build, would hide such an edit.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stamp=".next/.signet-build-started"
sources=(app components lib public prisma/schema.prisma next.config.js postcss.config.mjs tsconfig.json package-lock.json)
if [ -f .next/BUILD_ID ] && [ -f "$stamp" ] && [ -z "$(find "${sources[@]}" -newer "$stamp" -type f -print -quit 2>/dev/null)" ]; then
  exit 0
fi
echo "signet: building the web app (next build)" >&2
started="$(date +%s.%N)"
next build >&2
touch -d "@$started" "$stamp"
