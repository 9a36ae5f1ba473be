//! # socket-chat
//!
//! A real-time chat written in Rust from the database to the browser: Leptos renders the
//! page on the server and hydrates it in WebAssembly, socketioxide carries Socket.IO on the
//! same axum server, and SQLite keeps every message.
//!
//! ## Layout
//! - [`protocol`]: the event names and payload types both sides share. The wire format of
//!   each event is written in its doc comment and in `docs/PROTOCOL.md`.
//! - [`client`]: our Socket.IO v5 client. Its protocol core is plain Rust (tested natively);
//!   the `web_sys::WebSocket` transport is compiled for the browser only.
//! - `server` (feature `ssr`): configuration, the axum router, the Socket.IO handlers and
//!   the message store.
//! - [`ui`]: the Leptos components, rendered on the server and hydrated in the browser.
//! - `bench` (feature `bench`): the benchmark's histogram, pacer and report; its load
//!   generator is the `socket-chat-bench` binary (`src/bin/socket-chat-bench/`).
//!
//! `main.rs` only starts the server; [`hydrate`] is the browser's entry point.

#[cfg(feature = "bench")]
pub mod bench;
pub mod client;
pub mod protocol;
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
