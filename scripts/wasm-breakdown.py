#!/usr/bin/env python3
"""Where the WASM's bytes go, by crate: twiggy's per-function sizes grouped by the first crate
path in each symbol (generic code is counted where it is defined, e.g. tachys for our views).

Needs a WASM with its name section: the rustc output before wasm-bindgen and wasm-opt,
    target/front/wasm32-unknown-unknown/wasm-release/socket_chat.wasm
    scripts/wasm-breakdown.py [that file] [rows]
(`cargo install twiggy`.)"""
import collections, csv, io, re, subprocess, sys

wasm = sys.argv[1] if len(sys.argv) > 1 else "target/front/wasm32-unknown-unknown/wasm-release/socket_chat.wasm"
rows_shown = int(sys.argv[2]) if len(sys.argv) > 2 else 25
out = subprocess.run(["twiggy", "top", "--format", "csv", wasm], check=True, capture_output=True, text=True).stdout
CRATES = ["socket_chat::ui::lab", "socket_chat_protocol", "socket_chat", "socketio_browser", "socketioxide_parser_common",
          "socketioxide_core", "serde_json", "serde", "tachys", "reactive_graph", "leptos_router", "leptos_meta", "leptos_dom",
          "leptos", "server_fn", "gloo_net", "wasm_bindgen_futures", "wasm_bindgen", "js_sys", "web_sys", "dlmalloc",
          "hashbrown", "futures_util", "send_wrapper", "bytes", "core", "alloc", "std"]
PATTERNS = [(c, re.compile(r"(?<![A-Za-z0-9_])" + re.escape(c) + r"(\[|::)")) for c in CRATES]
by_crate = collections.Counter()
special = collections.Counter()
for row in csv.DictReader(io.StringIO(out)):
    name, size = row["Name"], int(row["ShallowSize"])
    if name.startswith(("Σ", "...")):
        continue
    if "function names" in name or name.startswith("custom section"):
        continue  # removed by wasm-bindgen / wasm-opt
    if "hydrate_async" in name:
        special["async hydration (hydrate_async, kept by every AnyView)"] += size
    elif "hydrate" in name:
        special["sync hydration (hydrate)"] += size
    best = None
    for crate, pattern in PATTERNS:
        m = pattern.search(name)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), crate)
    by_crate[best[1] if best else ("data" if name.startswith("data segment") else "other generic glue")] += size
total = sum(by_crate.values())
print(f"{total / 1024:8.1f} KB of code and data (rustc output, before wasm-opt)")
for crate, size in by_crate.most_common(rows_shown):
    print(f"{size / 1024:8.1f} KB {100 * size / total:5.1f}%  {crate}")
for what, size in special.items():
    print(f"{size / 1024:8.1f} KB {100 * size / total:5.1f}%  of which {what}")
