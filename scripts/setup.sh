#!/usr/bin/env bash
# Installs what building and testing socket-chat needs, and skips what is already there.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again and again.
#
#   - the wasm32-unknown-unknown Rust target
#   - cargo-leptos 0.3.10 (built without its downloader: every tool comes from PATH)
#   - wasm-bindgen-cli at exactly the version of the wasm-bindgen crate in Cargo.lock
#   - wasm-opt, from the npm package binaryen (into .tools/; never Debian's old binaryen)
#   - Chromium, from Debian (for Playwright)
#   - the npm packages of end2end/ (Playwright, socket.io, socket.io-client, @socket.io/admin-ui);
#     the server also serves socket.io-client's dist/ (/socket.io/socket.io.js) and the Admin
#     UI (/admin-ui/) from there
#   - for many nodes (scripts/cluster.sh and its tests): HAProxy, and PostgreSQL and Redis
#     when none answers on its usual port (Debian's packages, started for the run)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.10"
BINARYEN_VERSION="132.0.0"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

export PATH="$HOME/.cargo/bin:$ROOT/.tools/node_modules/.bin:$PATH"

command -v cargo >/dev/null || fail "cargo is missing: install Rust with rustup (https://rustup.rs) first."
command -v npm >/dev/null || fail "npm is missing: install Node.js 20 or newer first."

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "wasm32-unknown-unknown target: present"
else
  say "installing the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown || fail "could not add the wasm32 target"
fi

if cargo leptos --version 2>/dev/null | grep -q " ${CARGO_LEPTOS_VERSION}"; then
  say "cargo-leptos ${CARGO_LEPTOS_VERSION}: present"
else
  say "installing cargo-leptos ${CARGO_LEPTOS_VERSION} (about 15 minutes on 2 cores)"
  cargo install cargo-leptos --version "${CARGO_LEPTOS_VERSION}" --locked --features no_downloads \
    || fail "could not install cargo-leptos"
fi

WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
[ -n "$WASM_BINDGEN_VERSION" ] || fail "cannot read the wasm-bindgen version from Cargo.lock"
if wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}\b"; then
  say "wasm-bindgen-cli ${WASM_BINDGEN_VERSION}: present"
else
  say "installing wasm-bindgen-cli ${WASM_BINDGEN_VERSION} (must equal the crate in Cargo.lock)"
  # Without --locked: with it, this version fails on a yanked dependency.
  cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" --force \
    || fail "could not install wasm-bindgen-cli ${WASM_BINDGEN_VERSION}"
fi

if [ -x "$ROOT/.tools/node_modules/.bin/wasm-opt" ] \
  && grep -q "\"version\": \"${BINARYEN_VERSION}\"" "$ROOT/.tools/node_modules/binaryen/package.json" 2>/dev/null; then
  say "wasm-opt (npm binaryen ${BINARYEN_VERSION}): present"
else
  say "installing wasm-opt from npm binaryen ${BINARYEN_VERSION} into .tools/"
  mkdir -p "$ROOT/.tools"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools" "binaryen@${BINARYEN_VERSION}" \
    || fail "could not install binaryen from npm"
fi

export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM_PATH" ]; then
  say "Chromium: present ($CHROMIUM_PATH)"
else
  command -v apt-get >/dev/null || fail "Chromium is missing and apt-get is not available: set CHROMIUM_PATH"
  say "installing Chromium from Debian"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || fail "could not install Chromium with apt-get"
fi

# Reinstall the npm packages only when the lock file changed since the last install.
STAMP="$ROOT/end2end/node_modules/.socket-chat-lock"
if [ -f "$STAMP" ] && cmp -s "$STAMP" "$ROOT/end2end/package-lock.json"; then
  say "end2end npm packages: present"
else
  say "installing the npm packages of end2end/"
  (cd "$ROOT/end2end" && npm ci --silent --no-audit --no-fund) || fail "npm ci failed in end2end/"
  cp "$ROOT/end2end/package-lock.json" "$STAMP"
fi

# Many nodes: HAProxy in front; PostgreSQL and Redis are used where they answer already.
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {
  command -v apt-get >/dev/null || fail "$1 is missing and apt-get is not available: install $1"
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq \
    && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null \
    || fail "could not install $* with apt-get"
}
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if command -v haproxy >/dev/null; then
  say "HAProxy: present"
else
  say "installing HAProxy from Debian (the balancer of scripts/cluster.sh)"
  apt_install haproxy
fi

if answers 6379; then
  say "Redis: answering on 127.0.0.1:6379"
else
  command -v redis-server >/dev/null || { say "installing Redis from Debian"; apt_install redis-server; }
  say "starting Redis on 127.0.0.1:6379 (nothing kept on disk)"
  redis-server --bind 127.0.0.1 --port 6379 --save "" --appendonly no --daemonize yes >/dev/null \
    || fail "could not start Redis: start one on 127.0.0.1:6379 or set TEST_REDIS_URL"
fi

if answers 5432; then
  say "PostgreSQL: answering on 127.0.0.1:5432"
else
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    say "installing PostgreSQL from Debian"
    apt_install postgresql postgresql-client
  fi
  say "starting PostgreSQL on 127.0.0.1:5432 (user postgres, trusted on loopback for the tests)"
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    grep -q "socket-chat tests" "$hba" \
      || $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust # socket-chat tests' "$hba"
  done
  $SUDO pg_ctlcluster "$(ls /etc/postgresql | sort -V | tail -1)" main start 2>/dev/null || $SUDO service postgresql start \
    || fail "could not start PostgreSQL: start one on 127.0.0.1:5432 (user postgres) or set TEST_POSTGRES_URL"
fi

