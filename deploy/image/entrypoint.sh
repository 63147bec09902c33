#!/bin/sh
# Entry point of Signet's container image (Containerfile). Commands:
#   web      apply pending migrations, then the web server (scripts/web.ts bundled) on $HOST:$PORT
#   worker   apply pending migrations, then the worker (scans, verification, notifications)
#   webhook  the validating admission webhook over HTTPS (lib/admission; needs SIGNET_WEBHOOK_CERT_FILE / _KEY_FILE)
#   migrate  apply pending migrations and exit
#   signet … the CLI (also on PATH as `signet`)
#   anything else is run as given
# Migrations take a PostgreSQL advisory lock, so web and worker replicas starting together apply
# each one once. Only /tmp is written.
set -eu
mkdir -p /tmp/signet/next-cache /tmp/signet/data
bundle="/app/dist/cli/$(cat /app/dist/cli/CURRENT)"
cmd="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$cmd" in
  web)
    node /app/bin/signet.mjs db migrate >&2
    # Signet's web server (scripts/web.ts, as `npm start` runs it: the client address from the socket
    # and SIGNET_TRUSTED_PROXIES) on $HOST:$PORT, serving Next's standalone build with the build's
    # configuration, handed over the way Next's own standalone server.js does
    __NEXT_PRIVATE_STANDALONE_CONFIG="$(cat /app/.next/standalone-config.json)" exec node "$bundle/web.js" "$@"
    ;;
  worker)
    node /app/bin/signet.mjs db migrate >&2
    # the flags and environment of lib/scan/runtime.ts (tests/unit/image/entrypoint.test.ts checks they agree)
    MALLOC_ARENA_MAX=2 SIGNET_SCAN_RUNTIME=1 exec node --max-semi-space-size=16 "--max-old-space-size=${SIGNET_WORKER_HEAP_MB:-192}" "$bundle/worker.js" "$@"
    ;;
  webhook)
    # no migrations here: the web and the worker apply them, the webhook only waits for the database
    exec node "$bundle/webhook.js" "$@"
    ;;
  migrate) exec node /app/bin/signet.mjs db migrate "$@" ;;
  signet) exec node /app/bin/signet.mjs "$@" ;;
  *) exec "$cmd" "$@" ;;
esac
