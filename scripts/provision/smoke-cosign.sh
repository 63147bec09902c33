#!/usr/bin/env bash
# Offline smoke test of the provisioned tools: start a throwaway
# docker-registry on 127.0.0.1, push a random image with crane, sign and
# attest it with cosign (classic .sig/.att tags and the Sigstore-bundle
# format) using a local key pair and no Rekor/Fulcio/TUF, then verify.
#
#   scripts/provision/smoke-cosign.sh            # uses tools.sh first
#   SMOKE_NETNS=1 scripts/provision/smoke-cosign.sh   # re-run inside a private
#                                                # network namespace (root) to
#                                                # prove nothing leaves loopback
# Everything lives in a mktemp dir that is removed on exit (SMOKE_KEEP=1 keeps it).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ "${SMOKE_NETNS:-0}" = 1 ] && [ -z "${SMOKE_IN_NETNS:-}" ]; then
  eval "$("$SCRIPT_DIR/tools.sh" --print-env cosign crane registry)"
  exec unshare --net env SMOKE_IN_NETNS=1 bash -c 'ip link set lo up 2>/dev/null || true; exec bash "$0"' "${BASH_SOURCE[0]}"
fi
if [ -z "${SMOKE_IN_NETNS:-}" ]; then
  eval "$("$SCRIPT_DIR/tools.sh" --print-env cosign crane registry)"
fi
: "${COSIGN_BIN:?}" "${CRANE_BIN:?}" "${REGISTRY_BIN:?}"

WORK="$(mktemp -d /tmp/signet-smoke.XXXXXX)"
REG_PID=""
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
  [ "${SMOKE_KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
# Isolate cosign from any user config / TUF cache (~/.sigstore).
export HOME="$WORK/home" COSIGN_PASSWORD=""
mkdir -p "$HOME" storage

PORT="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
cat > config.yml <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $WORK/storage
http:
  addr: 127.0.0.1:$PORT
EOF
"$REGISTRY_BIN" serve config.yml > registry.log 2>&1 &
REG_PID=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "registry: $("$REGISTRY_BIN" --version) on 127.0.0.1:$PORT"

R="127.0.0.1:$PORT/test/img"
head -c 64 /dev/urandom | base64 > hello.txt
tar -cf layer.tar hello.txt
"$CRANE_BIN" append --insecure -f layer.tar -t "$R:v1" >/dev/null 2>&1
DIGEST="$("$CRANE_BIN" digest --insecure "$R:v1")"
REF="$R@$DIGEST"
echo "image: $REF"

code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/test/img/referrers/$DIGEST")"
echo "referrers API: HTTP $code"

"$COSIGN_BIN" generate-key-pair >/dev/null 2>&1
# Bundle format: a signing config with no services = no Rekor/TSA/Fulcio (the
# non-deprecated way; --use-signing-config=false --tlog-upload=false also works).
# With --signing-config cosign also loads a trusted root, from TUF (network!)
# unless --trusted-root is given, so pass an empty one.
# Classic format rejects --signing-config ("must provide --new-bundle-format"),
# so it needs the deprecated --use-signing-config=false --tlog-upload=false.
"$COSIGN_BIN" signing-config create --out signing-config.json
"$COSIGN_BIN" trusted-root create --out trusted-root.json
cat > pred.json <<'EOF'
{"builder":{"id":"https://signet.test/builder"},"buildType":"https://signet.test/build/v1","invocation":{},"materials":[]}
EOF

C=(--allow-http-registry)   # plain-http registry on 127.0.0.1
CLASSIC=(--new-bundle-format=false --use-signing-config=false --tlog-upload=false)
BUNDLE=(--signing-config signing-config.json --trusted-root trusted-root.json)
q() { "$@" 2> >(grep -v -e 'has been deprecated' -e '^WARNING: Skipping tlog' >&2); }

echo "--- sign (classic .sig tag)"
q "$COSIGN_BIN" sign --key cosign.key "${CLASSIC[@]}" "${C[@]}" --yes "$REF"
echo "--- sign (sigstore bundle, referrers / fallback tag)"
q "$COSIGN_BIN" sign --key cosign.key "${BUNDLE[@]}" "${C[@]}" --yes "$REF"
echo "--- attest (classic .att tag)"
q "$COSIGN_BIN" attest --key cosign.key "${CLASSIC[@]}" --type slsaprovenance --predicate pred.json "${C[@]}" --yes "$REF"
echo "--- attest (sigstore bundle)"
q "$COSIGN_BIN" attest --key cosign.key "${BUNDLE[@]}" --type slsaprovenance --predicate pred.json "${C[@]}" --yes "$REF"

echo "--- tags"
"$CRANE_BIN" ls --insecure "$R"

for nb in false true; do
  echo "--- verify --new-bundle-format=$nb"
  q "$COSIGN_BIN" verify --key cosign.pub --insecure-ignore-tlog=true --new-bundle-format=$nb "${C[@]}" "$REF" 2>/dev/null \
    | python3 -c 'import json,sys; print([e["critical"]["type"] for e in json.load(sys.stdin)])'
  echo "--- verify-attestation --new-bundle-format=$nb"
  q "$COSIGN_BIN" verify-attestation --key cosign.pub --type slsaprovenance --insecure-ignore-tlog=true --new-bundle-format=$nb "${C[@]}" "$REF" 2>/dev/null \
    | python3 -c 'import json,sys,base64; [print(json.loads(base64.b64decode(json.loads(l)["payload"]))["predicateType"]) for l in sys.stdin if l.strip()]'
done

echo "--- negative: verify with a different key must fail"
mkdir other && (cd other && "$COSIGN_BIN" generate-key-pair >/dev/null 2>&1)
if "$COSIGN_BIN" verify --key other/cosign.pub --insecure-ignore-tlog=true "${C[@]}" "$REF" >/dev/null 2>&1; then
  echo "FAIL: verification with the wrong key succeeded" >&2; exit 1
fi
echo "smoke: OK"
