//! The tutorial's own page, served by us: `/tutorial` (plain HTML and JavaScript, no WASM)
//! and the official client it loads from `/socket.io/socket.io.js`.
//!
//! - [`client_files`]: `/socket.io/socket.io.js` and its siblings, as the Node.js server
//!   serves them.
//! - `index.html`: the page. It does what the Socket.IO tutorial's final step does (a form and
//!   a list, the connect / disconnect toggle, `auth.serverOffset`, a `clientOffset` per
//!   message with `ackTimeout` and `retries`), with the tutorial's element ids (`form`,
//!   `input`, `messages`, `toggle-btn`); it chats with the Leptos page through the same
//!   server.

pub mod client_files;

use axum::http::HeaderValue;
use axum::response::{Html, IntoResponse};

use super::security_headers;

/// Where the page is served.
pub const PATH: &str = "/tutorial";

/// `GET /tutorial`: its inline script and style run by a fresh nonce, under a policy that
/// allows nothing else inline (src/server/security_headers.rs).
pub async fn page() -> impl IntoResponse {
    let (page, policy) = security_headers::with_nonce(include_str!("index.html"));
    let policy =
        HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static(security_headers::DEFAULT_POLICY));
    ([(security_headers::CSP, policy)], Html(page))
}
