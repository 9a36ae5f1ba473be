//! Our Socket.IO v5 client, for the browser, in Rust.
//!
//! No Socket.IO client written in Rust runs in a browser, so this is one, built to be lifted
//! out into another app. It is split so that everything but the WebSocket itself is plain
//! Rust, tested natively:
//!
//! - [`engine`]: Engine.IO v4 frames (open, ping/pong, message, close).
//! - [`codec`]: Socket.IO packets, encoded and decoded by socketioxide's own parser, so the
//!   server and the browser share one codec.
//! - [`core`]: the protocol state machine. It takes what the transport received and the
//!   time, and says what to send and what to tell the application. No I/O, no clock.
//! - [`backoff`]: reconnection delays.
//! - [`display`]: arguments as people read them (bytes included), for event logs.
//! - `socket` (browser only): [`Socket`], the handle an application uses, driving the core
//!   over `web_sys::WebSocket`. During server-side rendering the same API exists and does
//!   nothing, so components need no `cfg`.
//! - [`context`]: the Leptos integration: connection state as a signal, one socket per app.

pub mod backoff;
#[cfg(feature = "hydrate")]
pub mod browser;
pub mod codec;
pub mod context;
pub mod core;
pub mod display;
pub mod engine;
pub mod socket;

pub use self::core::{AckTimeout, Delivery, DisconnectReason, EmitOptions, Payload};
pub use codec::NoArgs;
pub use context::{SocketContext, provide_socket, use_socket};
pub use socket::{
    AckError, ConnectionState, Emitter, Environment, ListenerGuard, Socket, SocketOptions, Timer, Traffic, Transport,
    TransportSink,
};
