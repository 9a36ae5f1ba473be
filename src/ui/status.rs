//! The connection badge.

use leptos::prelude::*;

use super::outbox::Outbox;
use socketio_browser::{ConnectionState, use_socket};

/// `connected` or `disconnected`, with what the client is doing about it.
#[component]
pub fn ConnectionStatus() -> impl IntoView {
    let state = use_socket().state;
    let connected = move || state.with(ConnectionState::is_connected);
    let detail = move || match state.get() {
        ConnectionState::Connected(_) => String::new(),
        ConnectionState::Connecting => "connecting…".into(),
        ConnectionState::Reconnecting { attempt, delay_ms } => {
            format!("reconnecting (attempt {attempt}, in {:.1} s)", f64::from(delay_ms) / 1000.0)
        }
        ConnectionState::Disconnected(reason) => reason,
    };
    // Messages written while offline wait in the outbox until the socket reconnects.
    let outbox = use_context::<Outbox>();
    let waiting = move || outbox.map_or(0, |o| o.waiting());
    view! {
        <div class="status" class:online=connected>
            <span class="dot"></span>
            <span data-testid="connection-status">
                {move || if connected() { "connected" } else { "disconnected" }}
            </span>
            <span class="status-detail" data-testid="connection-detail">{detail}</span>
            <span class="status-detail" data-testid="outbox-count" hidden=move || connected() || waiting() == 0>
                {move || match waiting() {
                    1 => "1 message waiting".to_owned(),
                    n => format!("{n} messages waiting"),
                }}
            </span>
        </div>
    }
}

/// The tutorial's connect / disconnect button.
#[component]
pub fn ConnectToggle() -> impl IntoView {
    let socket = use_socket();
    // Disconnected by the user, or about to be: the button offers to connect.
    let offline = move || matches!(socket.state.get(), ConnectionState::Disconnected(_));
    let toggle = move |_| {
        socket.with(|s| if offline() { s.connect() } else { s.disconnect() });
    };
    view! {
        <button class="toggle" data-testid="connect-toggle" on:click=toggle>
            {move || if offline() { "Connect" } else { "Disconnect" }}
        </button>
    }
}
