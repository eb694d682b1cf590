#!/usr/bin/env bash
# Builds the browser UI (ui/: React + Vite, TypeScript checked) into ui/dist, which the binary
# embeds when it is compiled next. Installs its npm packages from package-lock.json first.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/../ui"
if ! command -v npm >/dev/null 2>&1; then
    echo "the browser UI needs Node.js and npm (Debian: apt-get install nodejs npm)" >&2
    exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npm run -s build
