#!/usr/bin/env bash
# Regenerates the UI's typed API client (ui/src/api/schema.d.ts) from the server's OpenAPI
# document, after an API change. `cargo test` fails while the committed one differs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p switchyard -- openapi > ui/openapi.json
(cd ui && npm run -s generate)
