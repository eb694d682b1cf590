#!/usr/bin/env bash
# The README's run command: builds the browser UI, then the binary (embedding it) in release
# mode, and serves (arguments go to `switchyard serve`, e.g. --listen 127.0.0.1:9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ui-build.sh
exec cargo run --release -p switchyard -- serve "$@"
