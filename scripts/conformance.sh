#!/usr/bin/env bash
# Conformance of the OpenAPI document with what the server does: schemathesis (from PyPI,
# pinned) against the real binary on a loopback port, bounded in examples and time. Fails on
# any server error, undocumented status code or content type, response not matching its
# schema, or schema-invalid request accepted.
#   bash scripts/conformance.sh            (part of scripts/test.sh)
# Every check is on by default (naming them with --checks would override the per-operation
# settings); "positive data acceptance" runs on every operation but those listed, with their reasons, in
# scripts/schemathesis.toml (rules JSON Schema cannot state). Phases: examples, coverage (the
# boundaries of every schema: lengths, bounds, missing and wrong-typed fields), fuzzing and
# stateful (sequences of calls).
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.32.5
if ! python3 -c "import schemathesis, sys; sys.exit(0 if schemathesis.__version__ == '$version' else 1)" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$version"
fi
cargo build --locked -p switchyard --quiet
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
# every operation but the public surface needs a token: schemathesis calls as the administrator
# (its "ignored auth" check also calls without the token and expects 401)
token="conformance-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
SWITCHYARD_ADMIN_TOKEN="$token" SWITCHYARD_DATA_DIR="$data" SWITCHYARD_LOG_LEVEL=warn target/debug/switchyard serve --listen "127.0.0.1:$port" > "$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break
  sleep 0.1
done
# the document is read as any signed-in caller reads it
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/openapi.json" > "$data/openapi.json"
status=0
timeout 600 python3 -m schemathesis.cli --config-file scripts/schemathesis.toml \
  run "$data/openapi.json" --url "http://127.0.0.1:$port/api/v1" --header "Authorization: Bearer $token" \
  --phases examples,coverage,fuzzing,stateful --max-examples 20 --workers 2 \
  --seed 217366643365628533051499310039274691359 --no-color > "$data/schemathesis.log" 2>&1 || status=$?
sed -n '/^=* SUMMARY =*$/,$p' "$data/schemathesis.log"
if [ "$status" -ne 0 ]; then
  sed -n '/^=* FAILURES =*$/,/^=* SUMMARY/p' "$data/schemathesis.log" | head -200
  echo "conformance: the OpenAPI document and the server disagree (schemathesis exit $status)"
  exit 1
fi
