//! # socket-chat
//!
//! A real-time chat written in Rust from the database to the browser: Leptos renders the
//! page on the server and hydrates it in WebAssembly, socketioxide carries Socket.IO on the
//! same axum server, and SQLite keeps every message.
//!
//! ## Layout
//! - [`protocol`] (crate `socket-chat-protocol`, `crates/protocol/`): the event names and
//!   payload types both sides share; the wire format of each event is in its doc comment
//!   and in `docs/PROTOCOL.md`.
//! - `socketio_browser` (`crates/socketio-browser/`): our Socket.IO v5 client for the
//!   browser, a library of its own; the page uses it through its Leptos helpers.
//! - `server` (feature `ssr`): configuration, the axum router, the Socket.IO handlers and
//!   the message store.
//! - [`ui`]: the Leptos components, rendered on the server and hydrated in the browser.
//!
//! `main.rs` only starts the server; [`hydrate`] is the browser's entry point. The
//! benchmark's load generator is its own crate (`crates/bench/`).

pub use socket_chat_protocol as protocol;
#[cfg(feature = "ssr")]
pub mod server;
pub mod ui;

/// Browser entry point: attaches the reactive app to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(ui::App);
}
