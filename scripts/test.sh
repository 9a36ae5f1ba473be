#!/usr/bin/env bash
# Runs every test: Rust unit tests, then the Socket.IO integration tests (official
# socket.io-client against our server) and the Playwright tests in headless Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
start=$(date +%s)

echo "[test] building the app (server + WASM)"
cargo leptos build

echo "[test] Rust unit tests"
cargo leptos test

echo "[test] integration and end-to-end tests (Playwright)"
(cd end2end && npx playwright test)

echo "[test] all tests passed in $(( $(date +%s) - start )) s"
