#!/usr/bin/env bash
# Speed of the browser UI in Debian's Chromium (tests/browser/bench-ui.mjs): the routings list
# with 1 000 routings, a 500-action tree opened and dragged in the editor. Builds the UI and the
# release binary, serves a fresh data directory, seeds it through the API, measures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ui-build.sh >/dev/null
bash scripts/browser-setup.sh >/dev/null
cargo build -q --release -p switchyard
data="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null && wait "${pid:-0}" 2>/dev/null; rm -rf "$data"' EXIT
port=$((20000 + RANDOM % 20000))
token="bench-ui-$(date +%s%N)-0123456789abcdef0123456789"
SWITCHYARD_ADMIN_TOKEN="$token" SWITCHYARD_LOG_LEVEL=warn target/release/switchyard serve --listen "127.0.0.1:$port" --data-dir "$data" >/dev/null &
pid=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.05; done
node tests/browser/bench-ui.mjs "http://127.0.0.1:$port" "$token"
