#!/usr/bin/env bash
# Prints the size of the page's code as the build left it in target/site/pkg: each WASM, JS
# and CSS file raw, with gzip -9 and with brotli (quality 11, as the precompressed .br), and the
# total for the chat page (`/`: socket-chat.* and the split build's loader __wasm_split.*.js, which
# the page's JS imports; split-off chunks, such as the /lab page's, are listed apart).
#   scripts/page-size.sh [site/pkg dir]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node - "${1:-target/site/pkg}" <<'JS'
const fs = require("node:fs"), path = require("node:path"), zlib = require("node:zlib");
const dir = process.argv[2];
// GNU gzip -9 (Node's zlib at level 9 comes out about 1 % larger on our WASM).
const gzip9 = (bytes) => require("node:child_process").execFileSync("gzip", ["-9c"], { input: bytes, maxBuffer: 1 << 30 }).length;
const kb = (n) => (n / 1024).toFixed(1).padStart(8);
let total = { raw: 0, gzip: 0, brotli: 0 };
const rows = [];
for (const name of fs.readdirSync(dir).sort()) {
  if (!/\.(wasm|js|css)$/.test(name)) continue;
  const bytes = fs.readFileSync(path.join(dir, name));
  const gzip = gzip9(bytes);
  const brotli = zlib.brotliCompressSync(bytes, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }).length;
  const page = name.startsWith("socket-chat") || /^__wasm_split\.[^.]+\.js$/.test(name);
  if (page) { total.raw += bytes.length; total.gzip += gzip; total.brotli += brotli; }
  rows.push(`${kb(bytes.length)} ${kb(gzip)} ${kb(brotli)}  ${name}${page ? "" : "  (not loaded by /)"}`);
}
console.log("   raw KB  gzip-9 KB brotli KB");
for (const row of rows) console.log(row);
console.log(`${kb(total.raw)} ${kb(total.gzip)} ${kb(total.brotli)}  total for / (socket-chat.*, __wasm_split.*.js)`);
JS
