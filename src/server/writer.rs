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
//!
//! With a shared store (PostgreSQL, several nodes) other nodes' writers store messages too.
//! Then this task delivers to this node's sockets only, and from the database: after its
//! own commits and whenever the store's [`Feed`] says another node committed, it reads
//! what follows the last offset it delivered and broadcasts it locally, in offset order.
//! The store makes offsets visible in order (docs/CLUSTER.md), so reading "after my last"
//! never skips one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use super::replay::{self, ChatSocket, Pace, ReplayError};
use super::store::{Feed, Inserted, MessageStore, NewMessage, StoreError};
use super::{outgoing, rooms, users};
use crate::protocol::{ChatMessage, SentMessage, UserInfo, events};

/// Most messages stored in one transaction.
const MAX_BATCH: usize = 512;
/// Commands waiting for the writer before senders wait too (back-pressure).
const QUEUE: usize = 4096;
/// Messages read per query when delivering other nodes' messages.
const DELIVERY_PAGE: u32 = 500;
/// With a shared store, how often the writer looks for messages even without a
/// notification (one lost while the LISTEN connection was down, for example).
const POLL: Duration = Duration::from_secs(1);
/// Longest wait between two catch-up attempts for a socket.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

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
    /// Who sent it.
    pub author: Option<UserInfo>,
    /// A private message to this user (by id).
    pub recipient: Option<String>,
}

type Reply = oneshot::Sender<Result<SentMessage, String>>;

enum Command {
    Store {
        message: Message,
        reply: Reply,
    },
    GoLive {
        socket: Box<dyn ChatSocket>,
        after: i64,
        rooms: Vec<String>,
        done: oneshot::Sender<()>,
        /// Catch-ups that failed before this one (the store was down, the socket too slow).
        attempt: u32,
    },
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
    /// For catch-ups tried again later; weak, so the task still ends with the last [`Writer`].
    retries: mpsc::WeakSender<Command>,
    store: MessageStore,
    broadcast_up_to: Arc<AtomicI64>,
    /// Delivering from the store is failing (logged once, not at every poll).
    delivery_failing: AtomicBool,
    /// Whether a broadcast is sparse enough to be written by this task's thread itself.
    direct: outgoing::DirectWrites,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Store { message, .. } => f.debug_struct("Store").field("message", message).finish(),
            Command::GoLive { after, attempt, .. } => {
                f.debug_struct("GoLive").field("after", after).field("attempt", attempt).finish()
            }
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
            WriterTask {
                commands: rx,
                retries: tx.downgrade(),
                store,
                broadcast_up_to,
                delivery_failing: AtomicBool::new(false),
                direct: outgoing::DirectWrites::new(),
            },
        )
    }

    /// The offset of the last message delivered live on this node (or stored before the
    /// server started). A socket connecting without an offset reads it before its CONNECT is
    /// answered and goes live from there: whatever is broadcast after its CONNECT reaches it,
    /// even if the writer puts it in the live audience a little later. Replays stop here.
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
    /// `rooms` and in the live audience, with no broadcast in between. When that fails (the
    /// store is down, the socket's buffer is full), it is tried again, less and less often,
    /// while the socket stays connected: returns once the socket is live or gone.
    pub async fn go_live(&self, socket: impl ChatSocket, after: i64, rooms: Vec<String>) {
        let (done, finished) = oneshot::channel();
        let command = Command::GoLive { socket: Box::new(socket), after, rooms, done, attempt: 0 };
        if self.commands.send(command).await.is_ok() {
            let _ = finished.await;
        }
    }
}

impl WriterTask {
    /// Runs until every [`Writer`] is dropped, or `stop` completes: then what is already
    /// queued is still stored and answered, and nothing more is taken. The store's [`Feed`]
    /// (a PostgreSQL connection of its own) goes with the task, so the store can close.
    pub async fn run<A: Adapter>(mut self, io: SocketIo<A>, stop: impl Future<Output = ()>) {
        let feed = self.store.feed().await;
        let shared = feed.is_some();
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut stop = std::pin::pin!(stop);
        let mut stopping = false;
        loop {
            let first = tokio::select! {
                // Senders first: a delivery poll must not keep them waiting.
                biased;
                command = self.commands.recv() => match command {
                    Some(command) => command,
                    None => break,
                },
                () = &mut stop, if !stopping => {
                    // `recv` gives what is queued, then `None`.
                    self.commands.close();
                    stopping = true;
                    continue;
                }
                () = changed(feed.as_ref()), if shared && !stopping => {
                    self.deliver_new(&io).await;
                    continue;
                }
                _ = poll.tick(), if shared && !stopping => {
                    self.deliver_new(&io).await;
                    continue;
                }
            };
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
                    Command::GoLive { socket, after, rooms, done, attempt } => {
                        // Stores queued before it are committed and broadcast first.
                        self.commit(&io, std::mem::take(&mut stores)).await;
                        self.go_live(socket, after, rooms, done, attempt).await;
                    }
                }
            }
            self.commit(&io, stores).await;
        }
        debug!("writer stopped");
    }

    async fn commit<A: Adapter>(&self, io: &SocketIo<A>, stores: Vec<(Message, Reply)>) {
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
                author: m.author.as_ref(),
                recipient: m.recipient.as_deref(),
            })
            .collect();
        let results = match self.store.insert_many(&messages).await {
            Ok(results) => results,
            Err(e) => return fail(stores, &e),
        };
        let shared = self.store.is_shared();
        // Broadcasts that follow one another at once are not sparse: queued, not written here.
        let more_waiting = stores.len() > 1 || !self.commands.is_empty();
        for ((_, reply), result) in stores.into_iter().zip(results) {
            // The handler needs only the offset: the message itself goes to the broadcast.
            match result {
                Inserted::New(message) => {
                    let _ = reply.send(Ok(SentMessage { server_offset: message.server_offset, duplicate: false }));
                    if !shared {
                        for socket in broadcast(io, &message, &self.direct, more_waiting) {
                            self.fell_behind(socket, message.server_offset);
                        }
                        self.broadcast_up_to.store(message.server_offset, Ordering::Release);
                    }
                }
                Inserted::Duplicate(server_offset) => {
                    let _ = reply.send(Ok(SentMessage { server_offset, duplicate: true }));
                }
            }
        }
        if shared {
            // Other nodes may have committed offsets just before ours: deliver in order.
            self.deliver_new(io).await;
        }
    }

    /// With a shared store: broadcasts to this node's sockets every message after the last
    /// one delivered, in offset order, whichever node stored it.
    async fn deliver_new<A: Adapter>(&self, io: &SocketIo<A>) {
        loop {
            let after = self.broadcast_up_to.load(Ordering::Acquire);
            let page = match self.store.all_after(after, DELIVERY_PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    if !self.delivery_failing.swap(true, Ordering::Relaxed) {
                        warn!(error = %e, "cannot read new messages from the store; live delivery waits for it");
                    }
                    return;
                }
            };
            if self.delivery_failing.swap(false, Ordering::Relaxed) {
                info!("reading new messages from the store again");
            }
            let more_waiting = page.len() > 1;
            for message in &page {
                for socket in broadcast(io, message, &self.direct, more_waiting) {
                    self.fell_behind(socket, message.server_offset);
                }
                self.broadcast_up_to.store(message.server_offset, Ordering::Release);
            }
            if page.len() < DELIVERY_PAGE as usize {
                return;
            }
        }
    }

    /// `socket` did not get message `missed`: its queue is full (it reads slower than the
    /// chat goes). Nothing newer may reach it before that one, or its last offset would skip
    /// it: it leaves the live audience and its rooms at once, then catches up from the store
    /// on its own task (waiting as long as it needs) and goes live again through the writer,
    /// as a reconnecting socket does. One that does not read at all is closed meanwhile by
    /// the heartbeat (its ping cannot be queued), and catches up when it comes back.
    fn fell_behind(&self, socket: Box<dyn ChatSocket>, missed: i64) {
        let rooms = socket.chat_rooms();
        socket.leave_all();
        warn!(sid = %socket.sid(), missed, "outgoing queue full: the socket leaves the live audience and catches up");
        let (done, _) = oneshot::channel();
        self.catch_up_later(socket, missed - 1, rooms, done);
    }

    /// Sends `socket` what was delivered live after `after`, on its own task and at its
    /// pace, then lets it go live through the writer (which may hand it back here if it is
    /// still behind). Ends when the socket is gone.
    fn catch_up_later(
        &self,
        socket: Box<dyn ChatSocket>,
        mut after: i64,
        rooms: Vec<String>,
        done: oneshot::Sender<()>,
    ) {
        let store = self.store.clone();
        let again = self.retries.clone();
        let until = self.broadcast_up_to.load(Ordering::Acquire);
        tokio::spawn(async move {
            match replay::send_after(&*socket, &store, &mut after, until, &rooms, Pace::Wait).await {
                // The writer's part reads the store again from where this stopped.
                Ok(()) | Err(ReplayError::Store(_)) => {}
                Err(ReplayError::TooSlow) => return debug!(sid = %socket.sid(), "gone before catching up"),
            }
            if let Some(commands) = again.upgrade() {
                let _ = commands.send(Command::GoLive { socket, after, rooms, done, attempt: 0 }).await;
            }
        });
    }

    async fn go_live(
        &self,
        socket: Box<dyn ChatSocket>,
        mut after: i64,
        rooms: Vec<String>,
        done: oneshot::Sender<()>,
        attempt: u32,
    ) {
        let until = self.broadcast_up_to.load(Ordering::Acquire);
        match replay::send_after(&*socket, &self.store, &mut after, until, &rooms, Pace::NeverWait).await {
            Ok(()) => {
                socket.go_live(&rooms);
                let _ = done.send(());
            }
            // Too slow for the writer: the rest at its own pace, on its own task.
            Err(ReplayError::TooSlow) if socket.connected() => self.catch_up_later(socket, after, rooms, done),
            Err(e) if socket.connected() => {
                // Not a DISCONNECT: a client told "io server disconnect" never comes back.
                // The socket stays, and is caught up again from where this stopped.
                let delay = retry_delay(attempt);
                warn!(sid = %socket.sid(), error = %e, attempt, "catch-up stopped; trying again in {delay:?}");
                let retries = self.retries.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    if let Some(queue) = retries.upgrade()
                        && socket.connected()
                    {
                        let retry = Command::GoLive { socket, after, rooms, done, attempt: attempt + 1 };
                        let _ = queue.send(retry).await;
                    }
                });
            }
            Err(e) => debug!(sid = %socket.sid(), error = %e, "catch-up stopped: the socket is gone"),
        }
    }
}

/// 100 ms, doubling with each attempt, at most [`MAX_RETRY_DELAY`].
fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(16))).min(MAX_RETRY_DELAY)
}

/// Completes when the feed wakes up; never without one.
async fn changed(feed: Option<&Feed>) {
    match feed {
        Some(feed) => feed.changed().await,
        None => std::future::pending().await,
    }
}

fn fail(stores: Vec<(Message, Reply)>, error: &StoreError) {
    warn!(%error, count = stores.len(), "storing messages failed");
    for (_, reply) in stores {
        let _ = reply.send(Err(error.to_string()));
    }
}

/// To every socket of its two users, to the members of its room, to every live socket but
/// those in its except-room, or to every live socket: this node's own sockets, one by one
/// (each node delivers to its own, from the store). Returns those that did not get it
/// (queue full). Written directly when `direct` finds it sparse ([`outgoing::DirectWrites`]).
fn broadcast<A: Adapter>(
    io: &SocketIo<A>,
    message: &ChatMessage,
    direct: &outgoing::DirectWrites,
    more_waiting: bool,
) -> Vec<Box<dyn ChatSocket>> {
    // Shutting down: nobody left to deliver to (the message is stored; clients replay it).
    let Some(chat) = outgoing::chat_namespace(io) else { return Vec::new() };
    let recipients = match (&message.room, &message.except) {
        _ if message.user.is_some() => {
            let recipient = message.user.as_deref().unwrap_or_default();
            let author = message.author.as_ref().map_or(recipient, |a| a.user_id.as_str());
            chat.to([users::room(author), users::room(recipient)])
        }
        (Some(room), _) => chat.to(rooms::key(room)),
        (None, Some(room)) => chat.to(rooms::LIVE).except(rooms::key(room)),
        (None, None) => chat.to(rooms::LIVE),
    };
    outgoing::broadcast_each(recipients.local(), events::CHAT_MESSAGE, &message.broadcast_args(), direct, more_waiting)
        .into_iter()
        .map(|socket| Box::new(socket) as Box<dyn ChatSocket>)
        .collect()
}

/// Resolves once a socket has been caught up and gone live.
#[derive(Clone)]
pub struct CaughtUp(pub watch::Receiver<bool>);

/// Longest a request made on connection (a message, a room list) waits for the socket's
/// catch-up before it is served anyway.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(10);

impl CaughtUp {
    /// Waits until `socket`, if it is still being caught up, is live in its rooms (at most
    /// [`CATCH_UP_LIMIT`]); a socket without [`CaughtUp`] is live already.
    pub async fn wait_for<A: Adapter>(socket: &socketioxide::extract::SocketRef<A>) {
        if let Some(CaughtUp(mut live)) = socket.extensions.get::<CaughtUp>() {
            let _ = tokio::time::timeout(CATCH_UP_LIMIT, live.wait_for(|live| *live)).await;
        }
    }
}
