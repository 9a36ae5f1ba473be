#!/usr/bin/env bash
# Benchmarks socket-chat against the official Node.js Socket.IO server, side by side, in one
# run on this machine, and prints the table (results in bench/results/).
# Not part of the test command: it takes several minutes and wants the machine to itself.
# Extra arguments go to socket-chat-bench (`--help` lists them), e.g. `--receivers 100`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

if [ ! -f bench/node_modules/.socket-chat-lock ] || ! cmp -s bench/node_modules/.socket-chat-lock bench/package-lock.json; then
  echo "[bench] installing the official server's packages in bench/ (socket.io, better-sqlite3)"
  (cd bench && npm ci --silent --no-audit --no-fund)
  cp bench/package-lock.json bench/node_modules/.socket-chat-lock
fi

echo "[bench] building the release app and the load generator"
cargo leptos build --release --split
cargo build --release -p socket-chat-bench

exec ./target/release/socket-chat-bench --root . "$@"
