//! History rendered with the page: a server function the page's resource calls.

use leptos::prelude::*;

use crate::protocol::HistoryPage;

/// The latest messages for everyone, oldest first (as many as `history-page-size`), and
/// whether there is anything older.
#[server]
pub async fn latest_messages() -> Result<HistoryPage, ServerFnError> {
    let state = expect_context::<crate::server::AppState>();
    crate::server::history::read(&state, crate::server::store::PageOf::Everyone, None, state.config.history_page_size)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}
