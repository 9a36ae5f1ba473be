//! Server delivery: sending a socket the stored messages it missed, oldest first.
//!
//! It happens in two phases, both through [`send_after`]: the bulk when the socket connects
//! ([`chat::on_connect`](super::chat::on_connect), which may wait for a slow socket), then
//! the last few inside the writer ([`Writer::go_live`](super::writer::Writer::go_live),
//! which must never wait: a socket too slow for it is told to come back).

use socketioxide::extract::SocketRef;

use super::{outgoing, users};
use super::store::{MessageStore, StoreError};
use crate::protocol::events;

/// Messages read from the store per query.
const PAGE: u32 = 500;

/// How a replay treats a socket whose outgoing buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Wait for room (the bulk of a replay, on the socket's own task).
    Wait,
    /// Never wait: stop with [`ReplayError::TooSlow`] (inside the writer).
    NeverWait,
}

/// Why a replay stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The socket is gone, or too slow for [`Pace::NeverWait`].
    #[error("the socket cannot take more messages now")]
    TooSlow,
}

/// Emits every stored message after `*after` that a socket in `rooms` may see, oldest
/// first, moving `*after` to each message sent: where it stopped, on success or not.
pub async fn send_after(
    socket: &SocketRef,
    store: &MessageStore,
    after: &mut i64,
    rooms: &[String],
    pace: Pace,
) -> Result<(), ReplayError> {
    // A user's private messages too.
    let me = users::current(socket).map(|u| u.user_id);
    loop {
        let page = store.after(*after, rooms, me.as_deref(), PAGE).await?;
        for message in &page {
            let args = message.broadcast_args();
            let sent = match pace {
                Pace::Wait => outgoing::emit(socket, events::CHAT_MESSAGE, &args).await,
                Pace::NeverWait => outgoing::try_emit(socket, events::CHAT_MESSAGE, &args),
            };
            sent.map_err(|_| ReplayError::TooSlow)?;
            *after = message.server_offset;
        }
        if page.len() < PAGE as usize {
            return Ok(());
        }
    }
}
