#!/usr/bin/env bash
# Runs every test: builds the browser UI (scripts/ui-build.sh: the binary the tests build
# embeds it), installs what the browser tests need (Debian's Chromium, playwright-core)
# and the IMAP test (Debian's Dovecot),
# checks the OpenAPI document against the real server (schemathesis from PyPI), then the whole
# Rust test suite. This is the README's test command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ui-build.sh
bash scripts/browser-setup.sh
bash scripts/dovecot-setup.sh
bash scripts/conformance.sh
cargo test --workspace --locked
