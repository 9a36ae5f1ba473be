//! Server delivery: sending a socket the stored messages it missed, oldest first.
//!
//! It happens in two phases, both through [`send_after`]: the bulk when the socket connects
//! ([`chat::on_connect`](super::chat::on_connect), which may wait for a slow socket), then
//! the last few inside the writer ([`Writer::go_live`](super::writer::Writer::go_live),
//! which must never wait: a socket too slow for it is caught up again a little later).
//! Both stop at the writer's live offset ([`Writer::broadcast_up_to`](super::writer::Writer::broadcast_up_to)):
//! what comes after reaches the socket live, so it never gets a message twice.

use std::pin::Pin;

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use super::store::{MessageStore, StoreError};
use super::{outgoing, rooms, users};
use crate::protocol::{ChatMessage, events};

/// A boxed future, as a trait object's async method returns it.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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

/// A socket as replays and the writer see it, whatever the adapter: the writer's queue
/// holds sockets of the one adapter the server runs with, without being generic over it.
pub trait ChatSocket: Send + Sync + 'static {
    /// Its id, for logs.
    fn sid(&self) -> String;
    /// Whether it is still connected.
    fn connected(&self) -> bool;
    /// Sends one `chat message`, waiting for room in its buffer or not.
    fn send<'a>(&'a self, message: &'a ChatMessage, pace: Pace) -> BoxFuture<'a, Result<(), ReplayError>>;
    /// Joins the live audience, `rooms`, and its user's room.
    fn go_live(&self, rooms: &[String]);
    /// Its user's id, when it has a session (whose private messages it also receives).
    fn user_id(&self) -> Option<String>;
    /// The chat rooms it is in, by name.
    fn chat_rooms(&self) -> Vec<String>;
    /// Leaves the live audience and every room (it fell behind).
    fn leave_all(&self);
}

impl<A: Adapter> ChatSocket for SocketRef<A> {
    fn sid(&self) -> String {
        self.id.to_string()
    }

    fn connected(&self) -> bool {
        (**self).connected()
    }

    fn send<'a>(&'a self, message: &'a ChatMessage, pace: Pace) -> BoxFuture<'a, Result<(), ReplayError>> {
        let args = message.broadcast_args();
        Box::pin(async move {
            let sent = match pace {
                Pace::Wait => outgoing::emit(self, events::CHAT_MESSAGE, &args).await,
                Pace::NeverWait => outgoing::try_emit(self, events::CHAT_MESSAGE, &args),
            };
            sent.map_err(|_| ReplayError::TooSlow)
        })
    }

    fn go_live(&self, chat_rooms: &[String]) {
        self.join(rooms::LIVE);
        if let Some(user) = users::current(self) {
            self.join(users::room(&user.user_id));
        }
        for room in chat_rooms {
            self.join(rooms::key(room));
        }
    }

    fn user_id(&self) -> Option<String> {
        users::current(self).map(|u| u.user_id)
    }

    fn chat_rooms(&self) -> Vec<String> {
        rooms::joined(self)
    }

    fn leave_all(&self) {
        (**self).leave_all();
    }
}

/// Emits every stored message after `*after` and up to `until` that a socket in `rooms`
/// may see, oldest first, moving `*after` to each message sent: where it stopped, on
/// success or not.
pub async fn send_after(
    socket: &(impl ChatSocket + ?Sized),
    store: &MessageStore,
    after: &mut i64,
    until: i64,
    rooms: &[String],
    pace: Pace,
) -> Result<(), ReplayError> {
    // A user's private messages too.
    let me = socket.user_id();
    loop {
        let page = store.after(*after, until, rooms, me.as_deref(), PAGE).await?;
        for message in &page {
            socket.send(message, pace).await?;
            *after = message.server_offset;
        }
        if page.len() < PAGE as usize {
            return Ok(());
        }
    }
}
