//! The axum router: the Leptos pages, the page's files (`/pkg`, see
//! [`assets`](super::assets)), other static assets, `/healthz`, the
//! tutorial's own page and the Admin UI, and Socket.IO as the outermost layer on the same
//! port (only the official client's files are answered before it).

use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes};
use leptos_router::{Method, SsrMode};
use socketioxide::adapter::Adapter;
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo, SocketIoBuilder};
use socketioxide_core::adapter::DefinedAdapter;
use tower_http::compression::CompressionLayer;

use super::admin::{self, Admin, hooks};
use super::cluster::Health;
use super::tutorial_page::{self, client_files};
use super::{AppState, assets, chat, lab, limits, origin, request_copy, security_headers};
use crate::ui::page::Page;
use crate::ui::shell;

/// The pages for leptos_axum: the app picks its page from the path itself (src/ui/page.rs),
/// so there is no `<Router>` to list them. The chat waits for its history (`SsrMode::Async`: all of it in the first response);
/// any other path is the fallback's 404 page.
fn page_routes() -> Vec<AxumRouteListing> {
    Page::ROUTES
        .iter()
        .map(|&(path, blocking)| {
            let mode = if blocking { SsrMode::Async } else { SsrMode::OutOfOrder };
            AxumRouteListing::new(path.to_owned(), mode, [Method::Get], Vec::new())
        })
        .collect()
}

/// Bytes each WebSocket reads at a time. Chat frames are small; socketioxide's 4 KiB default
/// is kept per connection for its whole life, idle or not.
const WS_READ_BUFFER: usize = 1024;

/// Builds the router and the Socket.IO handle (kept for shutdown) on `builder`'s adapter
/// (the local one, or Redis between nodes), with what each namespace's adapter returns
/// from its start (with Redis: a future that subscribes, to await before serving).
///
/// `admin`: the Admin UI's side, when an admin user is configured (src/server/admin); the
/// caller installs its `/admin` namespace.
pub fn router<A: Adapter + DefinedAdapter>(
    options: LeptosOptions,
    state: AppState,
    builder: SocketIoBuilder<A>,
    admin: Option<Admin<A>>,
    health: Health,
) -> (Router, SocketIo<A>, Vec<A::InitRes>) {
    let config = &state.config;
    let limits = limits::Limits::new(config);
    let mut builder = builder
        // Packets waiting for one socket (the official server's buffer is unbounded): a
        // socket that reads slower than the chat fills it, then the writer catches it up from
        // the store at its own pace (src/server/writer.rs); one that does not read at all is
        // dropped by the heartbeat. The channel allocates as it fills, so idle sockets pay
        // nothing.
        .max_buffer_size(config.max_queued_packets)
        .ping_interval(Duration::from_millis(config.ping_interval_ms))
        .ping_timeout(Duration::from_millis(config.ping_timeout_ms))
        .ws_read_buffer_size(WS_READ_BUFFER)
        // Hostile input (README, "Limits and security"): a bigger frame or message closes
        // the WebSocket (1009), a bigger polling payload gets 413.
        .ws_max_frame_size(config.max_ws_message_bytes)
        .ws_max_message_size(config.max_ws_message_bytes)
        .max_payload(config.max_polling_payload_bytes)
        // More attachments, or more bytes of them, than this closes the connection.
        .with_parser(
            ParserConfig::common()
                .max_incoming_binaries(config.max_binary_attachments)
                .max_incoming_binary_buf_size(config.max_ws_message_bytes),
        )
        .with_state(limits)
        .with_state(state.clone())
        .with_state(hooks::Hooks::<A>(admin.clone()));
    if let Some(admin) = &admin {
        builder = builder.with_state(admin.clone());
    }
    let (socket_layer, io) = builder.build_layer();
    // `hooks::attach` (runs first): the Admin UI sees these namespaces' sockets.
    // `limits::admit` runs first of all: a socket over the connections of its address is
    // refused before anything is registered for it.
    let started = vec![
        io.ns("/", chat::on_connect.with(chat::register).with(hooks::attach).with(limits::admit)),
        io.ns(
            crate::protocol::events::lab::NAMESPACE,
            lab::on_connect.with(lab::register).with(hooks::attach).with(limits::admit),
        ),
    ];
    let allowed_origins = origin::AllowedOrigins::new(&state.config.allowed_origins);
    let client_files = client_files::ClientFiles::open(&state.config.socket_io_client_dir);
    let admin_ui = admin::ui::routes(&state.config.admin_ui_dir, admin.is_some());
    // The Admin UI shows each socket's handshake headers; without it nothing reads most of them.
    let kept_headers = if admin.is_some() { request_copy::KeptHeaders::All } else { request_copy::KeptHeaders::Read };

    let routes = page_routes();
    let context_state = state.clone();
    let router = Router::new()
        .route("/healthz", get(move || health.clone().respond()))
        .route(tutorial_page::PATH, get(tutorial_page::page))
        .merge(admin_ui)
        // The WASM, JS and CSS: precompressed, cached by their hashed names (assets.rs).
        .merge(assets::routes(&options))
        .leptos_routes_with_context(&options, routes, move || provide_context(context_state.clone()), {
            let options = options.clone();
            move || shell(options.clone())
        })
        // The favicon, the theme script, and "Page not found." for any other address.
        .merge(assets::site_files(&options, shell))
        .with_state(options)
        .layer(CompressionLayer::new())
        .layer(security_headers::layer())
        // Last, so Socket.IO requests never reach the page routes or the compression.
        .layer(socket_layer)
        // Before it: Socket.IO requests from a page of another site get 403.
        .layer(middleware::from_fn_with_state(allowed_origins, origin::check))
        // Before it: `/socket.io/socket.io.js` and its siblings (GET and HEAD of those names only).
        .layer(middleware::from_fn_with_state(client_files, client_files::serve))
        // Outside it: Socket.IO requests stop pointing into hyper's read buffer.
        .layer(middleware::map_request_with_state(kept_headers, request_copy::own_socket_io_request));
    // With an admin: each Engine.IO connection gets an id (the Admin UI groups sockets by it).
    let router = match admin {
        Some(_) => router.layer(middleware::map_request(hooks::tag_request)),
        None => router,
    };
    (router, io, started)
}
