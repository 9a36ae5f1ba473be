#!/usr/bin/env bash
# Runs the official Socket.IO protocol test suite (github.com/socketio/socket.io-protocol,
# test-suite/) against socket-chat in conformance mode (`--conformance`,
# src/server/conformance.rs). Not part of scripts/test.sh: it needs GitHub and npm.
#
#   scripts/conformance.sh        clone (once) and install the suite, start the server on
#                                 127.0.0.1:3000, run the suite, stop the server; exits with
#                                 the suite's status
#
# Settings (environment):
#   CONFORMANCE_DIR  where the suite is cloned: ~/.cache/socket-chat/socket.io-protocol
#                    (outside the repository: none of its code is ours to commit)
#   SOCKET_CHAT_BIN  a binary already built (otherwise `cargo build --features ssr` builds one)
#
# The suite hard-codes http://localhost:3000, so port 3000 must be free.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CONFORMANCE_DIR="${CONFORMANCE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/socket-chat/socket.io-protocol}"
PORT=3000
# The suite's lockfile pins ws 8.5.0, which loses a message when two arrive in one TCP read:
# then even the official Node.js server fails at random. 8.16.0 is inside its declared range.
WS_VERSION=8.16.0

say() { printf '\033[1m[conformance]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[conformance] %s\033[0m\n' "$*" >&2; exit 1; }

command -v git >/dev/null || fail "git is needed to fetch the suite"
command -v npm >/dev/null || fail "Node.js and npm are needed to run the suite"
command -v curl >/dev/null || fail "curl is needed to wait for the server"

if [ ! -f "$CONFORMANCE_DIR/test-suite/test-suite.js" ]; then
  say "cloning socketio/socket.io-protocol into $CONFORMANCE_DIR"
  rm -rf "$CONFORMANCE_DIR"
  mkdir -p "$(dirname "$CONFORMANCE_DIR")"
  git clone --depth 1 https://github.com/socketio/socket.io-protocol "$CONFORMANCE_DIR"
fi
SUITE="$CONFORMANCE_DIR/test-suite"
say "suite at commit $(git -C "$CONFORMANCE_DIR" rev-parse --short HEAD)"
if [ ! -d "$SUITE/node_modules/mocha" ] || [ "$(node -p "require('$SUITE/node_modules/ws/package.json').version" 2>/dev/null)" != "$WS_VERSION" ]; then
  say "installing the suite's dependencies (ws $WS_VERSION)"
  (cd "$SUITE" && npm ci --no-audit --no-fund && npm install --no-save --no-audit --no-fund "ws@$WS_VERSION")
fi

if [ -n "${SOCKET_CHAT_BIN:-}" ]; then
  BIN="$SOCKET_CHAT_BIN"
else
  say "building socket-chat (cargo build --features ssr)"
  cargo build --features ssr --bin socket-chat
  BIN="$ROOT/target/debug/socket-chat"
fi
[ -x "$BIN" ] || fail "no binary at $BIN"

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  fail "port $PORT is in use: the suite hard-codes http://localhost:$PORT"
fi

LOG="$(mktemp -t socket-chat-conformance.XXXXXX.log)"
"$BIN" --conformance --addr "127.0.0.1:$PORT" >"$LOG" 2>&1 &
SERVER=$!
stop_server() {
  if kill -0 "$SERVER" 2>/dev/null; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
}
trap stop_server EXIT

# Ready when the Engine.IO handshake answers (that session then times out on its own).
ready=""
for _ in $(seq 200); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/socket.io/?EIO=4&transport=polling" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; fail "the server stopped"; }
  sleep 0.1
done
[ -n "$ready" ] || { cat "$LOG" >&2; fail "the server did not answer within 20 s"; }
say "socket-chat --conformance on port $PORT (log: $LOG); running the suite"

status=0
(cd "$SUITE" && npx mocha test-suite.js) || status=$?
if [ "$status" -eq 0 ]; then
  say "the official suite passed"
else
  say "the official suite failed (status $status); server log: $LOG"
fi
exit "$status"
