//! The message store: one interface, two engines, chosen by the database URL's scheme.
//!
//! - [`sqlite`]: `sqlite://PATH` (the default) or `sqlite::memory:`: embedded, one node.
//! - [`postgres`]: `postgres://…`: shared by every node of a cluster. Offsets are assigned
//!   under a cluster-wide lock so they become visible in order (docs/CLUSTER.md), and each
//!   commit is announced with `NOTIFY` so every node delivers it ([`Feed`]).
//! - [`test_database`]: a PostgreSQL database of its own for each test.
//!
//! Both engines pass the same tests (`tests.rs`).

pub mod postgres;
pub mod sqlite;
pub mod test_database;
#[cfg(test)]
mod tests;

use std::time::{SystemTime, UNIX_EPOCH};

use crate::protocol::{ChatMessage, Conversation, UnreadCount, UserInfo};

pub use postgres::Feed;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one we can open.
    #[error("unsupported database URL {0:?}: expected sqlite://PATH, sqlite::memory: or postgres://…")]
    UnsupportedUrl(String),
    /// The folder of the database file could not be created.
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database server could not be reached at start-up.
    #[error("cannot connect to the database {url}: {source}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// Why.
        source: sqlx::Error,
    },
    /// Applying the migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Where a new message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now: broadcast it.
    New(ChatMessage),
    /// This client offset was stored before, at this server offset: do not broadcast again.
    Duplicate(i64),
}

/// A message to store.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewMessage<'a> {
    /// The text, validated.
    pub content: &'a str,
    /// The sender's idempotency key.
    pub client_offset: Option<&'a str>,
    /// Only for this room.
    pub room: Option<&'a str>,
    /// For everyone but this room.
    pub except: Option<&'a str>,
    /// Who sent it (a socket with a session).
    pub author: Option<&'a UserInfo>,
    /// A private message to this user (by id).
    pub recipient: Option<&'a str>,
}

/// Which messages a page of history is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOf<'a> {
    /// Messages to everyone (and to everyone but a room).
    Everyone,
    /// A chat room's.
    Room(&'a str),
    /// The private messages between two users.
    Private {
        /// The reader.
        me: &'a str,
        /// The other user.
        peer: &'a str,
    },
}

/// The key of a conversation in `read_marks`: `everyone`, `room:<name>`, `user:<id>`.
pub fn conversation_key(conversation: &Conversation) -> String {
    match conversation {
        Conversation::Everyone => "everyone".into(),
        Conversation::Room(room) => format!("room:{room}"),
        Conversation::User(id) => format!("user:{id}"),
    }
}

/// Stored messages, shared by every handler (cheap to clone).
#[derive(Debug, Clone)]
pub enum MessageStore {
    /// Embedded: this process is the only writer.
    Sqlite(sqlite::SqliteStore),
    /// Shared by every node of a cluster.
    Postgres(postgres::PostgresStore),
}

/// Runs the same call on whichever engine is behind the store.
macro_rules! dispatch {
    ($store:expr, $s:ident => $call:expr) => {
        match $store {
            MessageStore::Sqlite($s) => $call,
            MessageStore::Postgres($s) => $call,
        }
    };
}

impl MessageStore {
    /// Opens the database at `url` (creating a SQLite file if needed) and applies its
    /// engine's migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(sqlite::SqliteStore::open(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(postgres::PostgresStore::open(url).await?))
        } else {
            Err(StoreError::UnsupportedUrl(url.into()))
        }
    }

    /// Whether other processes may write to this store too (several nodes): then a node
    /// learns of new messages from the database ([`MessageStore::feed`]), not from its own
    /// commits alone.
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// The engine's name, for `/healthz` and logs.
    pub fn engine(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Stores a message once per `client_offset`.
    pub async fn insert(&self, new: NewMessage<'_>) -> Result<Inserted, StoreError> {
        let mut inserted = self.insert_many(&[new]).await?;
        Ok(inserted.pop().expect("one result per message"))
    }

    /// Stores messages in one transaction (one commit for the lot: the writer's group
    /// commit, and seeding), each once per `client_offset`; one result per message, in order.
    pub async fn insert_many(&self, messages: &[NewMessage<'_>]) -> Result<Vec<Inserted>, StoreError> {
        dispatch!(self, s => s.insert_many(messages).await)
    }

    /// Up to `limit` messages after `server_offset` and up to `until` (inclusive) that the
    /// user `me` (`None`: a socket without a session) in `rooms` may see, oldest first:
    /// those for everyone (but not those for everyone except one of `rooms`), those for one
    /// of `rooms`, and the private messages `me` sent or received.
    ///
    /// `until` is how far the node has delivered live: a replay stops there, and the live
    /// delivery sends what comes after, so a socket never gets a message twice or out of order.
    pub async fn after(
        &self,
        server_offset: i64,
        until: i64,
        rooms: &[String],
        me: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        dispatch!(self, s => s.after(server_offset, until, rooms, me, limit).await)
    }

    /// Up to `limit` messages after `server_offset`, whoever they are for, oldest first:
    /// what a node delivers live when several nodes write.
    pub async fn all_after(&self, server_offset: i64, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        dispatch!(self, s => s.all_after(server_offset, limit).await)
    }

    /// The `limit` latest messages of `of` (to everyone: the except-room ones included)
    /// older than `before` (all when `None`), oldest first: a page of history, read
    /// backwards through the `(room, id)` index, or the private one.
    pub async fn page(&self, of: PageOf<'_>, before: Option<i64>, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        dispatch!(self, s => s.page(of, before, limit).await)
    }

    /// The user whose session id hashes to `session_hash`, if any.
    pub async fn user_by_session(&self, session_hash: &str) -> Result<Option<UserInfo>, StoreError> {
        dispatch!(self, s => s.user_by_session(session_hash).await)
    }

    /// The user `user_id`, if any.
    pub async fn user(&self, user_id: &str) -> Result<Option<UserInfo>, StoreError> {
        dispatch!(self, s => s.user(user_id).await)
    }

    /// Creates `user` with the session whose id hashes to `session_hash`; their unread
    /// counts start at the latest message (someone new has not "missed" the whole past).
    pub async fn create_user(&self, user: &UserInfo, session_hash: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.create_user(user, session_hash).await)
    }

    /// Changes the nickname of `user` (messages already sent keep the name they were sent with).
    pub async fn rename_user(&self, user: &UserInfo) -> Result<(), StoreError> {
        dispatch!(self, s => s.rename_user(user).await)
    }

    /// Everything up to `offset` in `conversation` is read by `user_id` (a mark never goes
    /// back). Returns the mark now kept.
    pub async fn mark_read(&self, user_id: &str, conversation: &Conversation, offset: i64) -> Result<i64, StoreError> {
        dispatch!(self, s => s.mark_read(user_id, &conversation_key(conversation), offset).await)
    }

    /// The unread counts of `user_id`: messages from others after the user's last-read
    /// offset to everyone, in each of `rooms`, and in each private conversation they have.
    pub async fn unread(&self, user_id: &str, rooms: &[String]) -> Result<Vec<UnreadCount>, StoreError> {
        let mut conversations: Vec<(Conversation, Option<UserInfo>)> = vec![(Conversation::Everyone, None)];
        conversations.extend(rooms.iter().map(|r| (Conversation::Room(r.clone()), None)));
        let peers = dispatch!(self, s => s.peers(user_id).await)?;
        conversations.extend(peers.into_iter().map(|peer| (Conversation::User(peer.user_id.clone()), Some(peer))));
        let joined_offset = dispatch!(self, s => s.joined_offset(user_id).await)?;
        // All the user's marks in one read; then one count per conversation.
        let marks: std::collections::HashMap<String, i64> =
            dispatch!(self, s => s.read_marks(user_id).await)?.into_iter().collect();
        let mut counts = Vec::with_capacity(conversations.len());
        for (conversation, peer) in conversations {
            let last_read = marks.get(&conversation_key(&conversation)).copied().unwrap_or(joined_offset);
            let count = dispatch!(self, s => s.count_unread(user_id, &conversation, last_read).await)?;
            counts.push(UnreadCount { conversation, count: count.clamp(0, i64::from(u32::MAX)) as u32, last_read, peer });
        }
        Ok(counts)
    }

    /// The offset of the latest message (0 when there is none).
    pub async fn latest_offset(&self) -> Result<i64, StoreError> {
        dispatch!(self, s => s.latest_offset().await)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping().await)
    }

    /// Wakes up when another node may have stored messages (PostgreSQL only; `None` for an
    /// embedded store, where this process is the only writer).
    pub async fn feed(&self) -> Option<Feed> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres(s) => Some(s.feed()),
        }
    }

    /// Waits for queries in flight, then closes every connection.
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }
}

/// A row as both engines read it.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    content: String,
    sent_at: i64,
    client_offset: Option<String>,
    room: Option<String>,
    except_room: Option<String>,
    author_id: Option<String>,
    author_name: Option<String>,
    recipient_id: Option<String>,
}

/// The columns every read selects, in [`Row`]'s order.
const COLUMNS: &str = "id, content, sent_at, client_offset, room, except_room, author_id, author_name, recipient_id";

impl From<Row> for ChatMessage {
    fn from(row: Row) -> Self {
        Self {
            server_offset: row.id,
            content: row.content,
            sent_at: row.sent_at,
            client_offset: row.client_offset,
            room: row.room,
            except: row.except_room,
            author: row.author_id.map(|user_id| UserInfo { user_id, nickname: row.author_name.unwrap_or_default() }),
            user: row.recipient_id,
        }
    }
}

/// The message as stored at `server_offset`.
fn stored(new: &NewMessage<'_>, server_offset: i64, sent_at: i64) -> ChatMessage {
    ChatMessage {
        server_offset,
        content: new.content.to_owned(),
        sent_at,
        client_offset: new.client_offset.map(str::to_owned),
        room: new.room.map(str::to_owned),
        except: new.except.map(str::to_owned),
        author: new.author.cloned(),
        user: new.recipient.map(str::to_owned),
    }
}

fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// `url` without its password, for messages.
pub fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) => format!("{scheme}://{}@{host}", user.split(':').next().unwrap_or("")),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}
