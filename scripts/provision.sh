#!/usr/bin/env bash
# Provisions everything the test suite talks to, idempotently and fast when cached, and prints
# `export` lines for them (eval the output): Node 24 (scripts/node24.sh), embedded PostgreSQL (an npm
# dependency), and the tools of scripts/provision/*.sh (Debian chromium and docker-registry, cosign
# and crane built from the Go module proxy, ...). Progress goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/node24.sh" >/dev/null
for part in "$root"/scripts/provision/*.sh; do
  [ -f "$part" ] || continue
  case "$(basename "$part")" in smoke-*) continue ;; esac
  bash "$part" --print-env
done
