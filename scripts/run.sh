#!/usr/bin/env bash
# Builds the release app (WASM, JS and CSS precompressed: brotli and gzip) and serves it at
# http://127.0.0.1:3000, messages in ./data/ (SQLite).
# Extra arguments go to the server, e.g. `scripts/run.sh --database-url sqlite://other.db`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
cargo leptos build --release --precompress --split
scripts/regzip.sh
echo "[run] serving http://127.0.0.1:3000 (Ctrl-C stops it)"
exec env LEPTOS_SITE_ROOT=target/site ./target/release/socket-chat "$@"
