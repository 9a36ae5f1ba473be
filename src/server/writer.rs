//! The writer: the one task that stores chat messages and broadcasts them.
//!
//! Why one task: clients keep "the last offset I have seen" and ask the server for what
//! came after it. That is only sound if every socket receives messages in offset order,
//! and never a live message before an older one it still has to be sent. Handlers running
//! side by side could commit 7 and 8 and broadcast 8 first; a client cut off in between
//! would then ask for "after 8" and never see 7. So every store goes through this task,
//! which commits and broadcasts in the same order, and a connecting socket goes live
//! through it too, after its replay, so no broadcast slips between the two.
//!
//! It also makes commits cheap: what is queued while a transaction runs is stored
//! together in the next one (group commit).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, warn};

use super::replay::{self, Pace};
use super::store::{Inserted, MessageStore, NewMessage, StoreError};
use super::{outgoing, rooms};
use crate::protocol::{ChatMessage, SentMessage, events};

/// Most messages stored in one transaction.
const MAX_BATCH: usize = 512;
/// Commands waiting for the writer before senders wait too (back-pressure).
const QUEUE: usize = 4096;

/// A message to store, owned (it crosses to the writer task).
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// The text.
    pub content: String,
    /// The sender's idempotency key.
    pub client_offset: Option<String>,
    /// Only for this room.
    pub room: Option<String>,
    /// For everyone but this room.
    pub except: Option<String>,
}

enum Command {
    Store { message: Message, reply: oneshot::Sender<Result<SentMessage, String>> },
    GoLive { socket: SocketRef, after: i64, rooms: Vec<String>, done: oneshot::Sender<()> },
}

/// Why the writer could not store a message.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The database refused it.
    #[error("{0}")]
    Store(String),
    /// The writer is gone (the server is stopping).
    #[error("the server is shutting down")]
    Stopped,
}

/// A handle on the writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct Writer {
    commands: mpsc::Sender<Command>,
    broadcast_up_to: Arc<AtomicI64>,
}

/// The writer task, before it has the Socket.IO handle it broadcasts with.
pub struct WriterTask {
    commands: mpsc::Receiver<Command>,
    /// Its own queue, for the catch-up of a socket that fell behind (weak: the task still
    /// stops once every [`Writer`] is dropped).
    again: mpsc::WeakSender<Command>,
    store: MessageStore,
    broadcast_up_to: Arc<AtomicI64>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Store { message, .. } => f.debug_struct("Store").field("message", message).finish(),
            Command::GoLive { after, .. } => f.debug_struct("GoLive").field("after", after).finish(),
        }
    }
}

impl Writer {
    /// A writer for `store`, whose latest message is `latest` (0 when empty); run the task
    /// with [`WriterTask::run`] once Socket.IO exists.
    pub fn new(store: MessageStore, latest: i64) -> (Self, WriterTask) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let broadcast_up_to = Arc::new(AtomicI64::new(latest));
        (
            Self { commands: tx.clone(), broadcast_up_to: broadcast_up_to.clone() },
            WriterTask { again: tx.downgrade(), commands: rx, store, broadcast_up_to },
        )
    }

    /// The offset of the last message broadcast (or stored before the server started).
    /// A socket connecting without an offset reads it before its CONNECT is answered and
    /// goes live from there: whatever is broadcast after its CONNECT reaches it, even if the
    /// writer puts it in the live audience a little later.
    pub fn broadcast_up_to(&self) -> i64 {
        self.broadcast_up_to.load(Ordering::Acquire)
    }

    /// Stores `message` (once per client offset) and, when new, broadcasts it to its
    /// recipients. Returns once it is committed: where it is stored, and whether it was
    /// there already.
    pub async fn store(&self, message: Message) -> Result<SentMessage, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Store { message, reply }).await.map_err(|_| WriteError::Stopped)?;
        answer.await.map_err(|_| WriteError::Stopped)?.map_err(WriteError::Store)
    }

    /// Sends `socket` what was stored after `after` that it may see, then puts it in its
    /// `rooms` and in the live audience, with no broadcast in between.
    pub async fn go_live(&self, socket: SocketRef, after: i64, rooms: Vec<String>) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::GoLive { socket, after, rooms, done }).await.is_ok() {
            let _ = finished.await;
        }
    }
}

impl WriterTask {
    /// Runs until every [`Writer`] is dropped.
    pub async fn run(mut self, io: SocketIo) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = self.commands.recv().await {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match self.commands.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            let mut stores = Vec::new();
            for command in batch.drain(..) {
                match command {
                    Command::Store { message, reply } => stores.push((message, reply)),
                    Command::GoLive { socket, after, rooms, done } => {
                        // Stores queued before it are committed and broadcast first.
                        self.commit(&io, std::mem::take(&mut stores)).await;
                        self.go_live(&socket, after, &rooms).await;
                        let _ = done.send(());
                    }
                }
            }
            self.commit(&io, stores).await;
        }
        debug!("writer stopped");
    }

    async fn commit(&self, io: &SocketIo, stores: Vec<(Message, oneshot::Sender<Result<SentMessage, String>>)>) {
        if stores.is_empty() {
            return;
        }
        let messages: Vec<NewMessage<'_>> = stores
            .iter()
            .map(|(m, _)| NewMessage {
                content: &m.content,
                client_offset: m.client_offset.as_deref(),
                room: m.room.as_deref(),
                except: m.except.as_deref(),
            })
            .collect();
        let results = match self.store.insert_many(&messages).await {
            Ok(results) => results,
            Err(e) => return fail(stores, &e),
        };
        for ((_, reply), result) in stores.into_iter().zip(results) {
            // The handler needs only the offset: the message itself goes to the broadcast.
            match result {
                Inserted::New(message) => {
                    let _ = reply.send(Ok(SentMessage { server_offset: message.server_offset, duplicate: false }));
                    for socket in broadcast(io, &message) {
                        self.fell_behind(socket, message.server_offset);
                    }
                    self.broadcast_up_to.store(message.server_offset, Ordering::Release);
                }
                Inserted::Duplicate(server_offset) => {
                    let _ = reply.send(Ok(SentMessage { server_offset, duplicate: true }));
                }
            }
        }
    }

    /// `socket` did not get message `missed`: its queue is full (it reads slower than the
    /// chat goes). Nothing newer may reach it before that one, or its last offset would skip
    /// it: it leaves the live audience and its rooms at once, then catches up from the store
    /// on its own task (waiting as long as it needs) and goes live again through the writer,
    /// as a reconnecting socket does. One that does not read at all is closed meanwhile by
    /// the heartbeat (its ping cannot be queued), and catches up when it comes back.
    fn fell_behind(&self, socket: SocketRef, missed: i64) {
        let rooms = rooms::joined(&socket);
        socket.leave_all();
        warn!(sid = %socket.id, missed, "outgoing queue full: the socket leaves the live audience and catches up");
        self.catch_up_later(socket, missed - 1, rooms);
    }

    /// Sends `socket` what was stored after `after`, on its own task and at its pace, then
    /// lets it go live through the writer (which may hand it back here if it is still
    /// behind). Ends when the socket is gone.
    fn catch_up_later(&self, socket: SocketRef, mut after: i64, rooms: Vec<String>) {
        let store = self.store.clone();
        let again = self.again.clone();
        tokio::spawn(async move {
            match replay::send_after(&socket, &store, &mut after, &rooms, Pace::Wait).await {
                // The writer's part reads the store again from where this stopped.
                Ok(()) | Err(replay::ReplayError::Store(_)) => {}
                Err(replay::ReplayError::TooSlow) => return debug!(sid = %socket.id, "gone before catching up"),
            }
            if let Some(commands) = again.upgrade() {
                let (done, finished) = oneshot::channel();
                if commands.send(Command::GoLive { socket, after, rooms, done }).await.is_ok() {
                    let _ = finished.await;
                }
            }
        });
    }

    async fn go_live(&self, socket: &SocketRef, mut after: i64, rooms: &[String]) {
        if let Err(e) = replay::send_after(socket, &self.store, &mut after, rooms, Pace::NeverWait).await {
            // Still behind (or the store failed): another round at its own pace. A socket
            // that is gone ends it there.
            debug!(sid = %socket.id, error = %e, after, "catch-up not finished; another round");
            if socket.connected() {
                self.catch_up_later(socket.clone(), after, rooms.to_vec());
            }
            return;
        }
        socket.join(rooms::LIVE);
        for room in rooms {
            socket.join(rooms::key(room));
        }
    }
}

fn fail(stores: Vec<(Message, oneshot::Sender<Result<SentMessage, String>>)>, error: &StoreError) {
    warn!(%error, count = stores.len(), "storing messages failed");
    for (_, reply) in stores {
        let _ = reply.send(Err(error.to_string()));
    }
}

/// To the members of its room, to every live socket but those in its except-room, or to
/// every live socket. Returns the sockets that did not get it (queue full).
fn broadcast(io: &SocketIo, message: &ChatMessage) -> Vec<SocketRef> {
    let recipients = match (&message.room, &message.except) {
        (Some(room), _) => io.to(rooms::key(room)),
        (None, Some(room)) => io.to(rooms::LIVE).except(rooms::key(room)),
        (None, None) => io.to(rooms::LIVE),
    };
    outgoing::broadcast_each(recipients, events::CHAT_MESSAGE, &message.broadcast_args())
}

/// Resolves once a socket has been caught up and gone live.
#[derive(Clone)]
pub struct CaughtUp(pub watch::Receiver<bool>);

impl CaughtUp {
    /// Waits (at most `limit`) for the socket to be live.
    pub async fn wait(mut self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.0.wait_for(|live| *live)).await;
    }
}
