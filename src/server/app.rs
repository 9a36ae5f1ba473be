//! The axum router: Leptos pages and server functions, the page's files (`/pkg`, see
//! [`assets`](super::assets)), other static assets, `/healthz`, the
//! tutorial's own page and the Admin UI, and Socket.IO as the outermost layer on the same
//! port (only the official client's files are answered before it).

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use socketioxide::SocketIo;
use socketioxide::handler::ConnectHandler;
use tower_http::compression::CompressionLayer;

use super::admin::{self, Admin, hooks};
use super::tutorial_page::{self, client_files};
use super::{AppState, assets, chat, lab, request_copy};
use crate::ui::{App, shell};

/// Packets that may wait for one socket before socketioxide drops them.
const SOCKET_BUFFER: usize = 16_384;

/// Bytes each WebSocket reads at a time. Chat frames are small; socketioxide's 4 KiB default
/// is kept per connection for its whole life, idle or not.
const WS_READ_BUFFER: usize = 1024;

/// Builds the router and the Socket.IO handle (kept for shutdown).
pub fn router(options: LeptosOptions, state: AppState) -> (Router, SocketIo) {
    // The Admin UI's side, only when an admin user is configured (src/server/admin).
    let admin = Admin::from_config(&state.config);
    let mut builder = SocketIo::builder()
        // Packets waiting for one socket. socketioxide drops what does not fit (an ack, a
        // broadcast), which would leave a gap in a client's messages; the official server's
        // buffer is unbounded. The channel allocates as it fills, so idle sockets pay nothing.
        .max_buffer_size(SOCKET_BUFFER)
        .ws_read_buffer_size(WS_READ_BUFFER)
        .with_state(state.clone())
        .with_state(hooks::Hooks(admin.clone()));
    if let Some(admin) = &admin {
        builder = builder.with_state(admin.clone());
    }
    let (socket_layer, io) = builder.build_layer();
    // `hooks::attach` (runs first): the Admin UI sees these namespaces' sockets.
    io.ns("/", chat::on_connect.with(chat::register).with(hooks::attach));
    io.ns(crate::protocol::events::lab::NAMESPACE, lab::on_connect.with(lab::register).with(hooks::attach));
    if let Some(admin) = &admin {
        admin.install(&io);
    }
    let client_files = client_files::ClientFiles::open(&state.config.socket_io_client_dir);
    let admin_ui = admin::ui::routes(&state.config.admin_ui_dir, admin.is_some());

    let routes = generate_route_list(App);
    let context_state = state.clone();
    let health_state = state;
    let router = Router::new()
        .route("/healthz", get(move || healthz(health_state.clone())))
        .route(tutorial_page::PATH, get(tutorial_page::page))
        .merge(admin_ui)
        // The WASM, JS and CSS: precompressed, cached by their hashed names (assets.rs).
        .merge(assets::routes(&options))
        .leptos_routes_with_context(&options, routes, move || provide_context(context_state.clone()), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
        .layer(CompressionLayer::new())
        // Last, so Socket.IO requests never reach the page routes or the compression.
        .layer(socket_layer)
        // Before it: `/socket.io/socket.io.js` and its siblings (GET and HEAD of those names only).
        .layer(middleware::from_fn_with_state(client_files, client_files::serve))
        // Outside it: Socket.IO requests stop pointing into hyper's read buffer.
        .layer(middleware::map_request(request_copy::own_socket_io_request));
    // With an admin: each Engine.IO connection gets an id (the Admin UI groups sockets by it).
    let router = match admin {
        Some(_) => router.layer(middleware::map_request(hooks::tag_request)),
        None => router,
    };
    (router, io)
}

/// `200 ok` when the store answers, `503` otherwise.
async fn healthz(state: AppState) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
