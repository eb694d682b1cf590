#!/usr/bin/env bash
# Restart to ready, and resident memory, with many waiting conversations:
#   bash scripts/bench-restart.sh [CONVERSATIONS]   (default 100000)
# Builds a data directory with the inbound benchmark, then starts the release binary on it and
# measures the time until /readyz answers and the server's resident memory.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
data="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null && wait "${pid:-0}" 2>/dev/null; rm -rf "$data"' EXIT
INBOUND_CONVERSATIONS="$n" INBOUND_KEEP="$data" cargo bench -q -p api --bench inbound
cargo build -q --release -p switchyard
port=$((20000 + RANDOM % 20000))
start=$(date +%s%N)
token="bench-$(date +%s%N)-0123456789abcdef0123456789"
SWITCHYARD_ADMIN_TOKEN="$token" SWITCHYARD_LOG_LEVEL=warn target/release/switchyard serve --listen "127.0.0.1:$port" --data-dir "$data" >/dev/null &
pid=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.01; done
ready=$(( ($(date +%s%N) - start) / 1000000 ))
waiting=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/interactions?status=waiting&limit=1" | head -c 200)
sleep 2
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "restart with $n waiting conversations: ready in ${ready} ms; resident memory ${rss} KiB ($(( rss * 1024 / n )) bytes per waiting conversation, process included)"
echo "a waiting one: $waiting"
