#!/usr/bin/env bash
# Redoes the .gz files that `cargo leptos build --release --precompress` wrote beside the site's
# files, with GNU gzip -9: cargo-leptos 0.3.10 compresses with libflate, whose output is 17 %
# larger on our WASM (548.6 KB against 469.9 KB). Its .br files (brotli quality 11) are kept.
#   scripts/regzip.sh [site root]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
find "${1:-target/site}" -name '*.gz' -print0 | while IFS= read -r -d '' gz; do
  gzip -9 -n -c "${gz%.gz}" > "$gz.tmp" && mv "$gz.tmp" "$gz"
done
