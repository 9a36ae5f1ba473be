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

use crate::protocol::ChatMessage;

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

    /// Up to `limit` messages after `server_offset` and up to `until` (inclusive) that a
    /// member of `rooms` may see, oldest first: those for everyone (but not those for
    /// everyone except one of `rooms`), and those for one of `rooms`.
    ///
    /// `until` is how far the node has delivered live: a replay stops there, and the live
    /// delivery sends what comes after, so a socket never gets a message twice or out of order.
    pub async fn after(
        &self,
        server_offset: i64,
        until: i64,
        rooms: &[String],
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        dispatch!(self, s => s.after(server_offset, until, rooms, limit).await)
    }

    /// Up to `limit` messages after `server_offset`, whoever they are for, oldest first:
    /// what a node delivers live when several nodes write.
    pub async fn all_after(&self, server_offset: i64, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        dispatch!(self, s => s.all_after(server_offset, limit).await)
    }

    /// The `limit` latest messages of `room` (`None`: those for everyone, the except-room
    /// ones included) older than `before` (all when `None`), oldest first: a page of
    /// history, read backwards through the `(room, id)` index.
    pub async fn page(
        &self,
        room: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        dispatch!(self, s => s.page(room, before, limit).await)
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
}

/// The columns every read selects, in [`Row`]'s order.
const COLUMNS: &str = "id, content, sent_at, client_offset, room, except_room";

impl From<Row> for ChatMessage {
    fn from(row: Row) -> Self {
        Self {
            server_offset: row.id,
            content: row.content,
            sent_at: row.sent_at,
            client_offset: row.client_offset,
            room: row.room,
            except: row.except_room,
            author: None,
            user: None,
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
        author: None,
        user: None,
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
