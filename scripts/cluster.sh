#!/usr/bin/env bash
# A local cluster: 3 socket-chat nodes (the same binary, each with its own --addr) on one
# PostgreSQL database, joined through Redis, behind HAProxy.
#
#   scripts/cluster.sh start     builds the release app, starts it all, prints the address
#   scripts/cluster.sh stop      stops the nodes and HAProxy it started
#   scripts/cluster.sh status    each node's /healthz and the balancer's
#
# Settings (environment):
#   DATABASE_URL   postgres://postgres@127.0.0.1:5432/socket_chat (created if missing)
#   REDIS_URL      redis://127.0.0.1:6379
#   CLUSTER_PORT   3100: the balancer; the nodes listen on the next ports (3101, 3102, 3103)
#   CLUSTER_NODES  3
#   CLUSTER_DIR    .cluster/: pids, logs, the HAProxy configuration
#   SOCKET_CHAT_BIN  a binary already built (then nothing is built; the tests use this)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/socket_chat}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
CLUSTER_PORT="${CLUSTER_PORT:-3100}"
CLUSTER_NODES="${CLUSTER_NODES:-3}"
CLUSTER_DIR="${CLUSTER_DIR:-$ROOT/.cluster}"

say() { printf '\033[1m[cluster]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[cluster] %s\033[0m\n' "$*" >&2; exit 1; }

node_port() { echo $((CLUSTER_PORT + $1)); }

# The pid in $1 if that process is still running.
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Waits until http://127.0.0.1:$1/healthz answers 200 (at most 20 s).
wait_healthy() {
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Creates the database named in DATABASE_URL unless it exists.
ensure_database() {
  command -v psql >/dev/null || fail "psql is missing (Debian: apt-get install postgresql-client)"
  local base="${DATABASE_URL%/*}" name="${DATABASE_URL##*/}"
  name="${name%%\?*}"
  psql "$base/postgres" -qtAc "SELECT 1" >/dev/null 2>&1 \
    || fail "PostgreSQL does not answer at $base (start it, or set DATABASE_URL)"
  if [ -z "$(psql "$base/postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
    say "creating the database $name"
    psql "$base/postgres" -qc "CREATE DATABASE \"$name\"" >/dev/null
  fi
}

write_haproxy_config() {
  local config="$CLUSTER_DIR/haproxy.cfg"
  cat >"$config" <<EOF
# Written by scripts/cluster.sh: one frontend, the nodes behind it.
global
    # Within the usual open-file limit (20 000 here): HAProxy needs two descriptors a connection.
    maxconn 4096
    pidfile $CLUSTER_DIR/haproxy.pid

defaults
    mode http
    option http-server-close
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A WebSocket is a tunnel once upgraded; pings every 25 s keep it well inside this.
    timeout tunnel 1h
    # A node that died: its clients' next requests go to another node, cookie or not.
    option redispatch
    retries 2

frontend chat
    bind 127.0.0.1:$CLUSTER_PORT
    default_backend nodes

backend nodes
    balance roundrobin
    # Sticky: an Engine.IO long-polling session lives in the memory of the node that opened
    # it, so every request of a session (and its upgrade to WebSocket) must reach that node.
    cookie SOCKETCHAT_NODE insert indirect nocache
    option httpchk GET /healthz
    http-check expect status 200
    # Which node answered (the tests check that two pages really are on two nodes).
    http-response set-header X-Socket-Chat-Node %s
EOF
  for i in $(seq "$CLUSTER_NODES"); do
    echo "    server node$i 127.0.0.1:$(node_port "$i") check inter 1s fall 2 rise 2 cookie node$i" >>"$config"
  done
  echo "$config"
}

start() {
  command -v haproxy >/dev/null || fail "haproxy is missing: run scripts/setup.sh (Debian: apt-get install haproxy)"
  mkdir -p "$CLUSTER_DIR"
  local bin="${SOCKET_CHAT_BIN:-}"
  if [ -z "$bin" ]; then
    source scripts/setup.sh
    cargo leptos build --release --split
    bin="$ROOT/target/release/socket-chat"
  fi
  [ -x "$bin" ] || fail "no socket-chat binary at $bin"
  ensure_database
  for i in $(seq "$CLUSTER_NODES"); do
    local pid="$CLUSTER_DIR/node$i.pid" port
    port="$(node_port "$i")"
    if running "$pid"; then
      say "node $i already runs (pid $(cat "$pid"))"
      continue
    fi
    env LEPTOS_SITE_ROOT="$ROOT/target/site" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
      RUST_LOG="${RUST_LOG:-info,socketioxide=warn,engineioxide=warn}" \
      "$bin" --addr "127.0.0.1:$port" >"$CLUSTER_DIR/node$i.log" 2>&1 &
    echo $! >"$pid"
  done
  for i in $(seq "$CLUSTER_NODES"); do
    wait_healthy "$(node_port "$i")" \
      || fail "node $i did not become healthy; its log: $CLUSTER_DIR/node$i.log
$(tail -5 "$CLUSTER_DIR/node$i.log")"
  done
  local config
  config="$(write_haproxy_config)"
  if running "$CLUSTER_DIR/haproxy.pid"; then
    kill "$(cat "$CLUSTER_DIR/haproxy.pid")" 2>/dev/null || true
  fi
  haproxy -c -q -f "$config" || fail "HAProxy refused $config"
  haproxy -D -f "$config" 2>"$CLUSTER_DIR/haproxy.log" || fail "HAProxy did not start: $(cat "$CLUSTER_DIR/haproxy.log")"
  wait_healthy "$CLUSTER_PORT" || fail "the balancer does not answer on port $CLUSTER_PORT"
  say "$CLUSTER_NODES nodes on ports $(node_port 1)-$(node_port "$CLUSTER_NODES"), logs in $CLUSTER_DIR/"
  echo "http://127.0.0.1:$CLUSTER_PORT"
}

stop() {
  for pid in "$CLUSTER_DIR"/node*.pid "$CLUSTER_DIR"/haproxy.pid; do
    [ -f "$pid" ] || continue
    if running "$pid"; then
      kill "$(cat "$pid")" 2>/dev/null || true
      for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
    fi
    rm -f "$pid"
  done
  say "stopped"
}

status() {
  local code=0
  for i in $(seq "$CLUSTER_NODES"); do
    local port
    port="$(node_port "$i")"
    printf 'node %s  http://127.0.0.1:%s  %s\n' "$i" "$port" \
      "$(curl -sS -m 3 "http://127.0.0.1:$port/healthz" 2>&1 || true)"
    curl -fsS -m 3 -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null || code=1
  done
  if running "$CLUSTER_DIR/haproxy.pid"; then
    printf 'balancer  http://127.0.0.1:%s  running (pid %s)\n' "$CLUSTER_PORT" "$(cat "$CLUSTER_DIR/haproxy.pid")"
  else
    printf 'balancer  http://127.0.0.1:%s  not running\n' "$CLUSTER_PORT"
    code=1
  fi
  return $code
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: scripts/cluster.sh start|stop|status" >&2; exit 2 ;;
esac
