#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium and the npm packages of
# tests/browser (playwright-core only; it drives the system Chromium, nothing is downloaded
# from elsewhere). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
