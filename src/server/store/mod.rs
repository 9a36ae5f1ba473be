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
mod queries;
pub mod sqlite;
pub mod test_database;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
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
    /// The rows an `INSERT … RETURNING` gave back do not fit the batch (an id missing, or
    /// ids not in the batch's order): nothing of the batch is committed.
    #[error("the stored batch does not match what was sent: {0}")]
    Mismatch(&'static str),
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

/// One chunk's `INSERT … VALUES … ON CONFLICT (client_offset) DO NOTHING RETURNING id,
/// client_offset`: the same statement on both engines (both have `RETURNING`).
pub(super) fn insert_rows<'q, DB>(chunk: &[&'q NewMessage<'q>], sent_at: i64) -> sqlx::QueryBuilder<'q, DB>
where
    DB: sqlx::Database,
    DB::Arguments<'q>: Default,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut insert = sqlx::QueryBuilder::new(
        "INSERT INTO messages (content, client_offset, sent_at, room, except_room, author_id, author_name, recipient_id) ",
    );
    insert.push_values(chunk, |mut row, new| {
        row.push_bind(new.content)
            .push_bind(new.client_offset)
            .push_bind(sent_at)
            .push_bind(new.room)
            .push_bind(new.except)
            .push_bind(new.author.map(|a| a.user_id.as_str()))
            .push_bind(new.author.map(|a| a.nickname.as_str()))
            .push_bind(new.recipient);
    });
    insert.push(" ON CONFLICT (client_offset) DO NOTHING RETURNING id, client_offset");
    insert
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
        dispatch!(self, s => s.queries().all_after(server_offset, limit).await)
    }

    /// The `limit` latest messages of `of` (to everyone: the except-room ones included)
    /// older than `before` (all when `None`), oldest first: a page of history, read
    /// backwards through the `(room, id)` index, or the private one.
    pub async fn page(&self, of: PageOf<'_>, before: Option<i64>, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        dispatch!(self, s => s.queries().page(of, before, limit).await)
    }

    /// The user whose session id hashes to `session_hash`, if any.
    pub async fn user_by_session(&self, session_hash: &str) -> Result<Option<UserInfo>, StoreError> {
        dispatch!(self, s => s.queries().user_by_session(session_hash).await)
    }

    /// The user `user_id`, if any.
    pub async fn user(&self, user_id: &str) -> Result<Option<UserInfo>, StoreError> {
        dispatch!(self, s => s.queries().user(user_id).await)
    }

    /// Creates `user` with the session whose id hashes to `session_hash`; their unread
    /// counts start at the latest message (someone new has not "missed" the whole past).
    pub async fn create_user(&self, user: &UserInfo, session_hash: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.queries().create_user(user, session_hash).await)
    }

    /// Changes the nickname of `user` (messages already sent keep the name they were sent with).
    pub async fn rename_user(&self, user: &UserInfo) -> Result<(), StoreError> {
        dispatch!(self, s => s.queries().rename_user(user).await)
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
        let peers = dispatch!(self, s => s.queries().peers(user_id).await)?;
        conversations.extend(peers.into_iter().map(|peer| (Conversation::User(peer.user_id.clone()), Some(peer))));
        let joined_offset = dispatch!(self, s => s.queries().joined_offset(user_id).await)?;
        // All the user's marks in one read; then one count per conversation.
        let marks: std::collections::HashMap<String, i64> =
            dispatch!(self, s => s.queries().read_marks(user_id).await)?.into_iter().collect();
        let mut counts = Vec::with_capacity(conversations.len());
        for (conversation, peer) in conversations {
            let last_read = marks.get(&conversation_key(&conversation)).copied().unwrap_or(joined_offset);
            let count = dispatch!(self, s => s.queries().count_unread(user_id, &conversation, last_read).await)?;
            counts.push(UnreadCount {
                conversation,
                count: count.clamp(0, i64::from(u32::MAX)) as u32,
                last_read,
                peer,
            });
        }
        Ok(counts)
    }

    /// The offset of the latest message (0 when there is none).
    pub async fn latest_offset(&self) -> Result<i64, StoreError> {
        dispatch!(self, s => s.queries().latest_offset().await)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.queries().ping().await)
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

/// Rows per multi-row `INSERT` (and keys per look-up of earlier ones): 8 bound values a
/// row, 8 000 a statement, well below SQLite's 32 766 and PostgreSQL's 65 535. The writer's
/// batches (at most 512 messages) fit in one.
pub const INSERT_ROWS: usize = 1000;

/// A batch stored with one multi-row `INSERT … ON CONFLICT (client_offset) DO NOTHING
/// RETURNING id, client_offset` per [`INSERT_ROWS`] messages, and the rows it returns
/// matched back to the batch's messages; both engines use it.
///
/// Why: one statement per message was one round trip to the database (for SQLite, to its
/// connection's worker thread) each, most of a batch's cost.
///
/// The result is the one storing the messages one by one, in order, would give: a message
/// whose key was stored before, or earlier in the batch, is a duplicate of that one's id.
/// - Only the first message of each key goes into the `INSERT`: a key repeated inside the
///   batch never reaches the database, so which row "wins" never depends on how the engine
///   orders a statement's rows.
/// - `RETURNING` gives back only the rows inserted, in no promised order: keyed rows are
///   matched by key; a first key that came back with no row was stored before this batch,
///   and its id is read in the same transaction ([`Self::missing_keys`]).
/// - Rows without a key are matched in id order. Both engines draw ids in the order of the
///   `VALUES` rows (SQLite inserts them in order; PostgreSQL calls the sequence row by row,
///   and one writer at a time holds the offset lock), and [`Self::results`] checks it: ids
///   that do not rise through the batch are an error, and the batch is not committed,
///   rather than broadcast out of order.
#[derive(Debug)]
pub struct InsertPlan<'m, 'a> {
    /// The batch, in order.
    messages: &'m [NewMessage<'a>],
    /// The messages that go into the `INSERT`s: every one without a key, and the first of
    /// each key.
    rows: Vec<&'m NewMessage<'a>>,
    /// The ids `RETURNING` gave for new keys, then those read for keys stored before.
    ids: HashMap<String, i64>,
    /// Which keys were inserted now (the rest were stored before).
    new_keys: HashSet<String>,
    /// The ids of the rows without a key.
    unkeyed: Vec<i64>,
}

impl<'m, 'a> InsertPlan<'m, 'a> {
    /// The plan for `messages`.
    pub fn new(messages: &'m [NewMessage<'a>]) -> Self {
        let mut keys = HashSet::with_capacity(messages.len());
        let rows = messages.iter().filter(|m| m.client_offset.is_none_or(|key| keys.insert(key))).collect();
        Self { messages, rows, ids: HashMap::new(), new_keys: HashSet::new(), unkeyed: Vec::new() }
    }

    /// The messages to insert, [`INSERT_ROWS`] per statement.
    pub fn chunks(&self) -> std::slice::Chunks<'_, &'m NewMessage<'a>> {
        self.rows.chunks(INSERT_ROWS)
    }

    /// Takes the `(id, client_offset)` rows an `INSERT` returned.
    pub fn inserted(&mut self, rows: Vec<(i64, Option<String>)>) {
        for (id, key) in rows {
            match key {
                Some(key) => {
                    self.new_keys.insert(key.clone());
                    self.ids.insert(key, id);
                }
                None => self.unkeyed.push(id),
            }
        }
    }

    /// The keys of the batch that no `INSERT` returned: stored before this batch. Their
    /// ids are read (in the same transaction) and given to [`Self::stored_before`].
    pub fn missing_keys(&self) -> Vec<&'a str> {
        self.rows.iter().filter_map(|m| m.client_offset).filter(|key| !self.ids.contains_key(*key)).collect()
    }

    /// Takes the `(id, client_offset)` rows read for [`Self::missing_keys`].
    pub fn stored_before(&mut self, rows: Vec<(i64, String)>) {
        for (id, key) in rows {
            self.ids.entry(key).or_insert(id);
        }
    }

    /// One result per message, in the batch's order.
    pub fn results(mut self, sent_at: i64) -> Result<Vec<Inserted>, StoreError> {
        self.unkeyed.sort_unstable();
        let mut unkeyed = self.unkeyed.into_iter();
        let mut results = Vec::with_capacity(self.messages.len());
        let mut last = i64::MIN;
        for new in self.messages {
            let result = match new.client_offset {
                None => {
                    let id = unkeyed.next().ok_or(StoreError::Mismatch("a row is missing"))?;
                    Inserted::New(stored(new, id, sent_at))
                }
                Some(key) => {
                    let id = *self.ids.get(key).ok_or(StoreError::Mismatch("a key is neither new nor stored"))?;
                    // The first message of a new key is the one stored; the others repeat it.
                    match self.new_keys.remove(key) {
                        true => Inserted::New(stored(new, id, sent_at)),
                        false => Inserted::Duplicate(id),
                    }
                }
            };
            if let Inserted::New(message) = &result {
                if message.server_offset <= last {
                    return Err(StoreError::Mismatch("ids do not follow the batch's order"));
                }
                last = message.server_offset;
            }
            results.push(result);
        }
        if unkeyed.next().is_some() {
            return Err(StoreError::Mismatch("more rows than messages"));
        }
        Ok(results)
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
