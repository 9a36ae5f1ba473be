//! The connection badge.

use leptos::prelude::*;

use crate::client::{ConnectionState, use_socket};

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
    view! {
        <div class="status" class:online=connected>
            <span class="dot"></span>
            <span data-testid="connection-status">
                {move || if connected() { "connected" } else { "disconnected" }}
            </span>
            <span class="status-detail" data-testid="connection-detail">{detail}</span>
        </div>
    }
}
