//! History rendered with the page: a server function the page's resource calls.

use leptos::prelude::*;

use crate::protocol::ChatMessage;

/// The latest messages for everyone, oldest first (as many as `history-page-size`).
#[server]
pub async fn latest_messages() -> Result<Vec<ChatMessage>, ServerFnError> {
    let state = expect_context::<crate::server::AppState>();
    state.store.page(None, None, state.config.history_page_size).await.map_err(|e| ServerFnError::new(e.to_string()))
}
