#!/usr/bin/env bash
# Runs every test: Rust unit tests, then the Socket.IO integration tests (official
# socket.io-client against our server) and the Playwright tests in headless Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
start=$(date +%s)

echo "[test] building the app (server + WASM)"
cargo leptos build --split

results="$(mktemp -d)"
echo "[test] Rust unit tests"
cargo leptos test 2>&1 | tee "$results/cargo.log"
# The other members of the workspace: the protocol types, the Socket.IO client (natively),
# the benchmark's measuring parts.
cargo test --workspace --exclude socket-chat 2>&1 | tee -a "$results/cargo.log"
# The client's example is a browser program: it must keep compiling for the browser.
cargo check -p socketio-browser --examples --features browser --target wasm32-unknown-unknown

echo "[test] integration and end-to-end tests (Playwright)"
(cd end2end && PLAYWRIGHT_JSON_OUTPUT_NAME="$results/playwright.json" npx playwright test --reporter=list,json)

# One closing line for the whole run: every Rust test plus every Playwright test.
rust_passed=$(awk '/^test result:/ { sum += $4 } END { print sum + 0 }' "$results/cargo.log")
e2e_passed=$(node -e 'const s = require(process.argv[1]).stats; console.log(s.expected + s.flaky)' "$results/playwright.json")
e2e_flaky=$(node -e 'console.log(require(process.argv[1]).stats.flaky)' "$results/playwright.json")
[ "$e2e_flaky" = 0 ] || echo "[test] flaky (passed on their second try): $e2e_flaky; see the list above"
echo "[test] finished in $(( $(date +%s) - start )) s"
echo "tests: $(( rust_passed + e2e_passed )) passed, 0 failed"
