//! The user interface: the HTML shell, the app and its panels.
//!
//! - [`chat`]: the chat page, laying out the panels below.
//! - [`state`]: what the page knows (messages, rooms), shared through context.
//! - [`messages`], [`composer`]: the conversation (older pages on scroll) and the message box.
//! - [`outbox`]: client delivery: our messages until the server has them, across reloads.
//! - [`rooms`]: rooms, member counts, join and leave.
//! - [`identity`]: who this page is (its session, kept across reloads and tabs), the nickname form.
//! - [`people`]: who is online in the view, private conversations, join and leave notices.
//! - [`unread`]: unread counts per conversation, from the server's last-read offsets.
//! - [`acks`]: the acknowledgements panel, and the helper every acked emit goes through.
//! - [`event_log`]: every event in and out, with its ack.
//! - [`status`]: the connection badge and the connect / disconnect toggle.
//! - [`typing`]: "someone is typing", a broadcast to everyone but the sender.
//! - [`history`]: the latest messages, read while the server renders the page (they come with it).
//! - [`lab`]: our client runs the tutorial's features against a server, step by step.
//! - [`page`]: which page the address shows (our two pages' router) and its query.

pub mod acks;
pub mod chat;
pub mod composer;
pub mod event_log;
pub mod history;
pub mod identity;
pub mod lab;
pub mod messages;
pub mod outbox;
pub mod page;
pub mod people;
pub mod rooms;
pub mod state;
pub mod status;
pub mod text;
pub mod theme;
pub mod time;
pub mod typing;
pub mod unread;
pub mod visibility;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, provide_meta_context};

use page::Page;

use socketio_browser::{SocketOptions, provide_socket};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy(&options);
    // For `HashedStylesheet` and `MetaTags`, here in the head only: nothing in the body uses
    // leptos_meta, so the WASM does not carry it.
    provide_meta_context();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <title>{visibility::TITLE}</title>
                // Before the first paint: the theme the reader chose (src/ui/theme.rs).
                <script src="/theme.js"></script>
                <AutoReload options=options.clone() />
                // The build's stylesheet by its hashed name (hash-files in Cargo.toml).
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <link rel="icon" type="image/png" href="/favicon.png" />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Sends this page's Content-Security-Policy (src/server/security_headers.rs): Leptos'
/// inline hydration script runs by this response's nonce, nothing else inline does.
#[cfg(feature = "ssr")]
fn set_content_security_policy(options: &LeptosOptions) {
    use crate::server::security_headers::{CSP, leptos_page_policy};
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    // `/?server=URL` and `/lab?server=URL` talk to another server.
    let other_server = (Page::current() != Page::NotFound).then(other_server).flatten();
    // `cargo leptos watch`'s live reload (the AutoReload script) connects to its own port.
    let reload = std::env::var("LEPTOS_WATCH")
        .is_ok()
        .then(|| format!("ws://{}:{}", options.site_addr.ip(), options.reload_port));
    let policy = leptos_page_policy(&nonce, other_server.as_deref(), reload.as_deref());
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(CSP, value);
    }
}

/// The app: one socket for every panel, and the page the address names ([`page`]).
#[component]
pub fn App() -> impl IntoView {
    provide_socket(browser_socket_options);
    match Page::current() {
        Page::Chat => view! { <chat::ChatPage /> }.into_any(),
        Page::Lab => lab::LabRoute::view_now(),
        Page::NotFound => view! { <p class="not-found">"Page not found."</p> }.into_any(),
    }
}

/// Connects to the server that served the page, or to the one `?server=http://host:port`
/// names: the chat page against another Socket.IO server, such as the tutorial's own
/// (end2end/tests/tutorial/their-server.spec.ts).
fn browser_socket_options() -> Option<SocketOptions> {
    #[cfg(feature = "hydrate")]
    {
        use socketio_browser::browser::{same_origin_url, websocket_url};
        let url = match other_server() {
            Some(base) => websocket_url(&base),
            None => same_origin_url()?,
        };
        Some(SocketOptions::new(url))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// The page address's `server` query parameter: the Socket.IO server to talk to instead of
/// the page's own.
pub fn other_server() -> Option<String> {
    page::query("server")
}

/// `Effect::new` through one boxed function type. Leptos compiles an effect's machinery (its
/// task, its future, its tracking) once per function type; boxed, every effect of the page
/// shares one copy (bench/results/SIZE.md, row 29). The call through the box is nothing
/// beside what an effect does.
pub fn effect(run: impl FnMut() + 'static) -> Effect<LocalStorage> {
    Effect::new(Box::new(run) as Box<dyn FnMut()>)
}

/// Milliseconds since the Unix epoch (0 while rendering on the server, where nothing is timed).
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}
