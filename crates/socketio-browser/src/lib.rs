//! # socketio-browser
//!
//! A Socket.IO v5 client for the browser, written in Rust: what the JavaScript
//! `socket.io-client` is to a web page, for any wasm-bindgen app (Leptos, Yew, Dioxus or
//! none). No Socket.IO client written in Rust ran in a browser, so this is one.
//!
//! ```ignore
//! use socketio_browser::{Socket, SocketOptions, browser::{BrowserEnvironment, websocket_url}};
//!
//! let socket = Socket::new(SocketOptions::new(websocket_url("https://chat.example")), BrowserEnvironment);
//! socket.connect();
//! let _guard = socket.on("chat message", |payload| {
//!     let (text, offset): (String, i64) = payload.decode().unwrap();
//! });
//! socket.timeout(5000).emit_with_callback("request", &("foo", "bar"), |answer| { /* … */ })?;
//! let answer = socket.timeout(5000).emit_with_ack("request2", &("foo", "bar")).await?;
//! ```
//!
//! ## Layout
//! Everything but the WebSocket itself is plain Rust and tested natively:
//!
//! - [`engine`]: Engine.IO v4 frames (open, ping/pong, message, close).
//! - [`codec`]: Socket.IO packets, encoded and decoded by socketioxide's own parser, so a
//!   socketioxide server and this client cannot disagree on the wire format.
//! - [`core`]: the protocol state machine. It takes what the transport received and the
//!   time, and says what to send and what to tell the application. No I/O, no clock.
//! - [`delivery`]: client delivery, the tutorial's `ackTimeout` + `retries` with an
//!   idempotency key per message, as a state machine an app can persist.
//! - [`backoff`]: reconnection delays (exponential, with jitter).
//! - [`display`]: arguments as people read them (bytes included), for event logs.
//! - [`socket`]: [`Socket`], the handle an application uses. It drives the core over an
//!   [`Environment`]: the browser's (`browser`, feature `browser`: `web_sys::WebSocket`
//!   and gloo-timers) or a scripted one in tests.
//! - `context` (feature `leptos`): one socket per Leptos app, its state as a signal.

#![warn(missing_docs)]

pub mod backoff;
#[cfg(feature = "browser")]
pub mod browser;
pub mod codec;
#[cfg(feature = "leptos")]
pub mod context;
pub mod core;
pub mod delivery;
pub mod display;
pub mod engine;
pub mod socket;

pub use self::core::{AckTimeout, Delivery, DisconnectReason, EmitOptions, Payload};
pub use codec::NoArgs;
#[cfg(feature = "leptos")]
pub use context::{SocketContext, provide_socket, use_socket};
pub use socket::{
    AckError, ConnectionState, Emitter, Environment, ListenerGuard, Socket, SocketOptions, Timer, Traffic, Transport,
    TransportSink,
};
