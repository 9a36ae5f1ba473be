//! History rendered with the page: what the page's resource reads while the server renders it.

use crate::protocol::HistoryPage;

/// The latest messages for everyone, oldest first (as many as `history-page-size`), and
/// whether there is anything older.
///
/// Read from the store while the server renders the page; the browser gets them inside the
/// page (the resource's value, serialized with the HTML), never by a request of its own. So
/// this is not a server function: its client half (a fetch, its streams, its error type) would
/// be WASM the page never runs (bench/results/SIZE.md, row 23).
pub async fn latest_messages() -> Result<HistoryPage, String> {
    #[cfg(feature = "ssr")]
    {
        use crate::server::{AppState, history, store::PageOf};
        let state = leptos::prelude::expect_context::<AppState>();
        history::read(&state, PageOf::Everyone, None, state.config.history_page_size).await.map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "ssr"))]
    {
        Err("the history comes with the page; reload it".to_owned())
    }
}
