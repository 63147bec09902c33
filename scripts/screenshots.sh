#!/usr/bin/env bash
# Regenerates docs/screenshots: every dashboard page in light and dark at 1440 and 390 px, on the data
# of a real scan (the dashboard e2e scenario: kube-apiserver, registry, cosign), from the production build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/bootstrap.sh
source "$root/scripts/bootstrap.sh"
eval "$(bash "$root/scripts/provision.sh")"
bash "$root/scripts/build-if-needed.sh"
rm -rf docs/screenshots
mkdir -p docs/screenshots
SIGNET_SCREENSHOTS_DIR="$root/docs/screenshots" vitest run -c vitest.e2e.config.ts tests/e2e/dashboard/dashboard.test.ts
ls docs/screenshots | wc -l
