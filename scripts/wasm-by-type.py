#!/usr/bin/env python3
"""Where the WASM's bytes go, by the first of our types each function is compiled for.

scripts/wasm-breakdown.py groups functions by the crate that defines them, so a Leptos
function compiled for one of our closures or payload types counts as Leptos. Built with
`-C symbol-mangling-version=v0`, function names carry their generic arguments; this script
counts each function for the first of our modules its name mentions (`socket_chat::ui::rooms`,
`socket_chat_protocol::message`, `socketio_browser::core`...), or "none of ours".
wasm-bindgen's describe functions and imports (gone from what ships) are counted apart.

    RUSTFLAGS="--cfg erase_components -C symbol-mangling-version=v0" cargo build --lib \\
      --target wasm32-unknown-unknown --profile wasm-release --features hydrate \\
      --no-default-features --target-dir /tmp/front-v0
    scripts/wasm-by-type.py /tmp/front-v0/wasm32-unknown-unknown/wasm-release/socket_chat.wasm [rows] [module]

With a module (e.g. `socket_chat::ui::acks`), also lists that module's largest functions.
(`cargo install twiggy`; bench/results/SIZE.md, "What is left".)"""
import collections, csv, io, re, subprocess, sys

wasm = sys.argv[1]
rows_shown = int(sys.argv[2]) if len(sys.argv) > 2 else 40
detail = sys.argv[3] if len(sys.argv) > 3 else None
out = subprocess.run(["twiggy", "top", "--format", "csv", wasm], check=True, capture_output=True, text=True).stdout
OURS = re.compile(r"(socket_chat(?:_protocol)?|socketio_browser|socketioxide_parser_common|socketioxide_core)::([a-z_]+)(::[a-z_]+)?")
by_module, count, functions = collections.Counter(), collections.Counter(), collections.defaultdict(list)
for row in csv.DictReader(io.StringIO(out)):
    name, size = row["Name"], int(row["ShallowSize"])
    if name.startswith(("Σ", "...", "custom section", '"function names"')):
        continue
    if "__wbindgen_describe" in name or name.startswith(("import ", "export ")):
        key = "wasm-bindgen describe functions, imports and exports (not shipped as such)"
    elif name.startswith("data segment"):
        key = "data"
    else:
        plain = re.sub(r"\[[0-9a-f]+\]", "", name)  # crate disambiguators
        m = OURS.search(plain)
        if m:
            # Our UI counts by its module (socket_chat::ui::rooms), the rest by crate::module.
            key = f"{m.group(1)}::{m.group(2)}" + (m.group(3) or "" if m.group(2) == "ui" else "")
        else:
            key = "none of ours (Leptos, std, serde_json... for their own or std types)"
        name = plain
    by_module[key] += size
    count[key] += 1
    functions[key].append((size, name))
total = sum(by_module.values())
print(f"{total / 1024:8.1f} KB before wasm-opt")
for key, size in by_module.most_common(rows_shown):
    print(f"{size / 1024:8.1f} KB {100 * size / total:5.1f}% {count[key]:6d}  {key}")
if detail:
    print(f"\nlargest functions counted for {detail}:")
    for size, name in sorted(functions[detail], reverse=True)[:40]:
        print(f"{size:8d}  {name[:200]}")
