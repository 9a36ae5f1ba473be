//! # socket-chat
//!
//! A real-time chat written in Rust from the database to the browser: Leptos renders the
//! page on the server and hydrates it in WebAssembly, socketioxide carries Socket.IO on the
//! same axum server, and SQLite keeps every message (or PostgreSQL, when several nodes
//! joined through Redis share one chat: `docs/CLUSTER.md`).
//!
//! ## Layout
//! - [`protocol`] (crate `socket-chat-protocol`, `crates/protocol/`): the event names and
//!   payload types both sides share; the wire format of each event is in its doc comment
//!   and in `docs/PROTOCOL.md`.
//! - `socketio_browser` (`crates/socketio-browser/`): our Socket.IO v5 client for the
//!   browser, a library of its own; the page uses it through its Leptos helpers.
//! - `server` (feature `ssr`): configuration, the axum router, the Socket.IO handlers and
//!   the message store (SQLite or PostgreSQL), the Redis adapter between nodes.
//! - [`ui`]: the Leptos components, rendered on the server and hydrated in the browser.
//!
//! `main.rs` only starts the server; [`hydrate`] is the browser's entry point. The
//! benchmark's load generator is its own crate (`crates/bench/`).
//!
//! ## Where each feature of the Socket.IO tutorial lives
//!
//! | feature | server | client (`crates/socketio-browser/src/`) | page (`src/ui/`) | tests |
//! |---|---|---|---|---|
//! | acks, callback flavour | `server/tutorial.rs` `on_request` | `Emitter::emit_with_callback` (`socket.rs`) | `acks.rs` | `end2end/tests/socketio/tutorial.spec.ts`, `tests/client/`, `tests/ui/panels.spec.ts` |
//! | acks, promise flavour, timeouts | `tutorial.rs` `on_request2`, `on_withhold` | `Emitter::emit_with_ack`, `core.rs` deadlines | `acks.rs` | the same |
//! | server-to-client ack | `tutorial.rs` `on_rtt`, `outgoing::ask` | `Socket::on_with_ack`, `Socket::ack` | `acks.rs` | `tests/client/` (the lab) |
//! | catch-all in (`onAny`) and out (`onAnyOutgoing`) | `tutorial.rs` `on_any_other`; every emit in `outgoing.rs` | `Socket::on_any`, `on_any_outgoing`, `inspect` | `event_log.rs` | `tests/ui/panels.spec.ts`, the lab |
//! | broadcasting | `writer.rs` `broadcast` | `Socket::on` | `chat.rs`, `messages.rs` | `tests/server/chat.rs`, `end2end/tests/socketio/chat.spec.ts` |
//! | rooms: join, leave, `to`, `except` | `rooms.rs`, `writer.rs` | | `rooms.rs`, `composer.rs` | `tests/server/rooms.rs`, `end2end/tests/socketio/rooms.spec.ts`, `tests/ui/panels.spec.ts` |
//! | disconnection: toggle, reconnection, buffering | `chat.rs` `on_connect` (rooms restored) | `socket.rs`, `core.rs`, `backoff.rs` | `status.rs` | `end2end/tests/delivery/offline.spec.ts` |
//! | server delivery (`serverOffset`) | `chat.rs` `on_connect`, `replay.rs`, `writer.rs` `go_live` | `Socket::set_auth` | `messages.rs` | `tests/server/replay.rs`, `tests/server/writer.rs`, `end2end/tests/delivery/` |
//! | client delivery (`clientOffset`, `ackTimeout`, `retries`) | `chat.rs` `on_chat_message`, `store/` (one row per client offset) | `Emitter::retries` (`core.rs` queue), `delivery.rs` | `outbox.rs` | `tests/server/chat.rs`, `end2end/tests/delivery/failed.spec.ts`, `tests/faults/chaos.spec.ts` |
//! | the tutorial's final page as is (`/tutorial`, `/socket.io/socket.io.js`) | `server/tutorial_page/` | the official `socket.io-client` | `server/tutorial_page/index.html` | `end2end/tests/tutorial/` |
//! | the official Admin UI (`/admin`, `/admin-ui/`) | `server/admin/` (touch points: `admin/hooks.rs`) | | the official UI | `end2end/tests/admin/` |
//! | adapters: several nodes (Redis adapter, `fetch_sockets`, `local()`) | `server/cluster.rs`, handlers generic over `A: Adapter`, `writer.rs` `deliver_new`, `store/postgres.rs` | | | `tests/server/cluster.rs`, `end2end/tests/cluster/` |

// The chat page's view is one deeply nested type (every panel, statically typed); a release
// build (no `erase_components`) computes its layout past the default depth of 128.
#![recursion_limit = "256"]

pub use socket_chat_protocol as protocol;
#[cfg(feature = "ssr")]
pub mod server;
pub mod ui;

/// Browser entry point: attaches the reactive app to the server-rendered HTML.
///
/// The `/lab` page's code is a chunk loaded on demand (`ui::lab::LabRoute`, `cargo leptos
/// build --split`). The page hydrates synchronously (`hydrate_body`): with `erase_components`
/// every component is an `AnyView`, which our tachys patch hydrates synchronously
/// (`any_view_sync_hydration`, vendor/tachys/PATCHES.md), so nothing can wait for the chunk
/// while hydrating. So on `/lab` the chunk is loaded first, then the page hydrates, the
/// page's code already there (`LabRoute::view_now`). `/` never loads it.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    if ui::page::Page::current() == ui::page::Page::Lab {
        // The executor `spawn_local` needs: `hydrate_body` would set it up, but only later.
        _ = any_spawner::Executor::init_wasm_bindgen();
        leptos::task::spawn_local(async {
            <ui::lab::LabRoute as leptos_router::LazyRoute>::preload().await;
            leptos::mount::hydrate_body(ui::App);
        });
    } else {
        leptos::mount::hydrate_body(ui::App);
    }
}
