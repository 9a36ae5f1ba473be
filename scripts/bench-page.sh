#!/usr/bin/env bash
# The page-load benchmark of issue 15: the chat page's code (gzip and brotli), the bytes
# transferred and the time to a usable chat in Chromium with the CPU slowed 4x and a "Slow 4G"
# network, beside the Socket.IO tutorial's page served by the official Node.js server.
# Prints the table and writes bench/results/page-load.{md,json}. Not part of the test command.
#   BENCH_RUNS=5 scripts/bench-page.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

echo "[bench-page] building the release app, precompressed"
cargo leptos build --release --precompress --split
scripts/regzip.sh
scripts/page-size.sh
cd end2end
exec env SOCKET_CHAT_BIN="$PWD/../target/release/socket-chat" npx playwright test --config playwright.bench.config.ts
