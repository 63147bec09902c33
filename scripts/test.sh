#!/usr/bin/env bash
# `npm test`: the one test command (README, .ci/run). Provisions what the tests need, type-checks,
# builds the production app, then runs vitest (unit + integration) and the browser end-to-end tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/bootstrap.sh
source "$root/scripts/bootstrap.sh"
eval "$(bash "$root/scripts/provision.sh")"
echo "signet: type-checking" >&2
tsc --noEmit -p tsconfig.json
bash "$root/scripts/build-if-needed.sh"
echo "signet: unit and integration tests" >&2
vitest run "$@"
echo "signet: end-to-end tests" >&2
vitest run -c vitest.e2e.config.ts
