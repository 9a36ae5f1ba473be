//! The message store: SQLite through sqlx, one pool for the whole process.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, FromRow, SqliteConnection, SqlitePool};

use crate::protocol::ChatMessage;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one we can open.
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or sqlite::memory:")]
    UnsupportedUrl(String),
    /// The folder of the database file could not be created.
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
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

/// Stored messages, shared by every handler (cheap to clone).
#[derive(Debug, Clone)]
pub struct MessageStore {
    pool: SqlitePool,
    /// The writer's own connection for inserts (file databases; an in-memory database is a
    /// single connection, the pool's).
    inserts: Option<Arc<tokio::sync::Mutex<SqliteConnection>>>,
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

#[derive(FromRow)]
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

impl MessageStore {
    /// Opens (creating it if needed) the database at `url` and applies the migrations.
    ///
    /// SQLite runs in WAL mode with `synchronous = NORMAL`: a commit is durable once it
    /// returns as far as the process is concerned (a `kill -9` loses nothing committed),
    /// without an fsync per message; only an OS crash can lose the last commits.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl(url.into()));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let path = options.get_filename();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::CreateDir { path: dir.display().to_string(), source })?;
        }
        // An in-memory database lives in one connection; a file serves concurrent readers.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 4 })
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let inserts = match in_memory {
            true => None,
            false => Some(Arc::new(tokio::sync::Mutex::new(options.connect().await?))),
        };
        Ok(Self { pool, inserts })
    }

    /// Stores a message once per `client_offset`.
    pub async fn insert(&self, new: NewMessage<'_>) -> Result<Inserted, StoreError> {
        let mut inserted = self.insert_many(&[new]).await?;
        Ok(inserted.pop().expect("one result per message"))
    }

    /// Stores messages in one transaction (one commit for the lot: the writer's group
    /// commit, and seeding), each once per `client_offset`; one result per message, in order.
    ///
    /// One multi-row `INSERT` per [`INSERT_ROWS`] messages rather than one statement each:
    /// every sqlx statement is a round trip to the connection's worker thread, which was
    /// most of the cost of a batch. On a file database the inserts have their own connection,
    /// so a batch never waits behind replays and history pages for a pooled one.
    pub async fn insert_many(&self, messages: &[NewMessage<'_>]) -> Result<Vec<Inserted>, StoreError> {
        match &self.inserts {
            Some(connection) => insert_batch(&mut *connection.lock().await, messages).await,
            None => insert_batch(&mut *self.pool.acquire().await?, messages).await,
        }
    }

    /// Up to `limit` messages after `server_offset` that a member of `rooms` may see,
    /// oldest first: those for everyone (but not those for everyone except one of
    /// `rooms`), and those for one of `rooms`.
    pub async fn after(
        &self,
        server_offset: i64,
        rooms: &[String],
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rooms = serde_json::to_string(rooms).unwrap_or_else(|_| "[]".into());
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM messages WHERE id > ?1 AND ( \
                (room IS NULL AND (except_room IS NULL OR except_room NOT IN (SELECT value FROM json_each(?2)))) \
                OR room IN (SELECT value FROM json_each(?2)) \
             ) ORDER BY id LIMIT ?3"
        ))
        .bind(server_offset)
        .bind(rooms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
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
        let mut rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM messages WHERE room IS ? AND id < ? ORDER BY id DESC LIMIT ?"
        ))
        .bind(room)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.reverse();
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The offset of the latest message (0 when there is none).
    pub async fn latest_offset(&self) -> Result<i64, StoreError> {
        let (latest,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM messages").fetch_one(&self.pool).await?;
        Ok(latest)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Waits for queries in flight, then closes every connection.
    pub async fn close(&self) {
        if let Some(inserts) = &self.inserts {
            // Waits for the insert in flight; the connection closes when the last handle goes.
            drop(inserts.lock().await);
        }
        self.pool.close().await;
    }
}

/// Messages per `INSERT` statement (5 parameters each, far below SQLite's 32 766).
const INSERT_ROWS: usize = 1000;

/// [`MessageStore::insert_many`] on one connection.
async fn insert_batch(
    connection: &mut SqliteConnection,
    messages: &[NewMessage<'_>],
) -> Result<Vec<Inserted>, StoreError> {
    let sent_at = now_millis();
    let mut tx = connection.begin().await?;
    let mut results = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(INSERT_ROWS) {
        let rows = chunk.iter().map(|_| "(?, ?, ?, ?, ?)").collect::<Vec<_>>().join(", ");
        let sql = format!(
            "INSERT INTO messages (content, client_offset, sent_at, room, except_room) VALUES {rows} \
             ON CONFLICT (client_offset) DO NOTHING RETURNING id, client_offset"
        );
        let mut query = sqlx::query_as::<_, (i64, Option<String>)>(&sql);
        for new in chunk {
            query = query.bind(new.content).bind(new.client_offset).bind(sent_at).bind(new.room).bind(new.except);
        }
        let mut inserted = query.fetch_all(&mut *tx).await?;
        // SQLite inserts the VALUES rows in order, so ids increase with them. Walking the
        // messages in order, a message is new exactly when the next inserted row carries
        // its client offset: a duplicate's key is never inserted later in the same batch.
        inserted.sort_unstable_by_key(|(id, _)| *id);
        let mut inserted = inserted.into_iter().peekable();
        for new in chunk {
            let is_new = inserted.peek().is_some_and(|(_, key)| key.as_deref() == new.client_offset);
            results.push(match inserted.next_if(|_| is_new) {
                Some((id, _)) => Inserted::New(ChatMessage {
                    server_offset: id,
                    content: new.content.to_owned(),
                    sent_at,
                    client_offset: new.client_offset.map(str::to_owned),
                    room: new.room.map(str::to_owned),
                    except: new.except.map(str::to_owned),
                    author: None,
                    user: None,
                }),
                None => Inserted::Duplicate(
                    sqlx::query_scalar("SELECT id FROM messages WHERE client_offset = ?")
                        .bind(new.client_offset)
                        .fetch_one(&mut *tx)
                        .await?,
                ),
            });
        }
    }
    tx.commit().await?;
    Ok(results)
}

fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> MessageStore {
        MessageStore::open("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn a_client_offset_is_stored_once() {
        let store = store().await;
        let keyed = NewMessage { content: "hi", client_offset: Some("a-1"), ..NewMessage::default() };
        let Inserted::New(first) = store.insert(keyed).await.unwrap() else {
            panic!("first insert must be new");
        };
        assert_eq!(store.insert(keyed).await.unwrap(), Inserted::Duplicate(first.server_offset));
        let unkeyed = NewMessage { content: "hi", ..NewMessage::default() };
        assert!(matches!(store.insert(unkeyed).await.unwrap(), Inserted::New(_)));
        assert!(matches!(store.insert(unkeyed).await.unwrap(), Inserted::New(_)));
        assert_eq!(store.page(None, None, 10).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn after_and_latest_are_in_offset_order() {
        let store = store().await;
        assert_eq!(store.latest_offset().await.unwrap(), 0, "an empty store");
        for i in 0..5 {
            store.insert(NewMessage { content: &format!("m{i}"), ..NewMessage::default() }).await.unwrap();
        }
        let after: Vec<_> = store.after(2, &[], 10).await.unwrap().into_iter().map(|m| m.content).collect();
        assert_eq!(after, ["m2", "m3", "m4"]);
        let latest: Vec<_> = store.page(None, None, 2).await.unwrap().into_iter().map(|m| m.server_offset).collect();
        assert_eq!(latest, [4, 5]);
        let older: Vec<_> = store.page(None, Some(4), 2).await.unwrap().into_iter().map(|m| m.server_offset).collect();
        assert_eq!(older, [2, 3]);
        assert!(store.page(None, Some(1), 2).await.unwrap().is_empty());
        assert_eq!(store.latest_offset().await.unwrap(), 5);
    }

    #[tokio::test]
    async fn replays_only_what_a_member_of_the_rooms_may_see() {
        let store = store().await;
        for (content, room, except) in [
            ("all", None, None),
            ("to rust", Some("rust"), None),
            ("to go", Some("go"), None),
            ("all but rust", None, Some("rust")),
        ] {
            store.insert(NewMessage { content, room, except, ..NewMessage::default() }).await.unwrap();
        }
        let seen = |rooms: &'static [&'static str]| {
            let store = store.clone();
            async move {
                let rooms: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
                store.after(0, &rooms, 10).await.unwrap().into_iter().map(|m| m.content).collect::<Vec<_>>()
            }
        };
        assert_eq!(seen(&[]).await, ["all", "all but rust"]);
        assert_eq!(seen(&["rust"]).await, ["all", "to rust"]);
        assert_eq!(seen(&["go", "rust"]).await, ["all", "to rust", "to go"]);
        let rust: Vec<_> = store.page(Some("rust"), None, 10).await.unwrap().into_iter().map(|m| m.content).collect();
        assert_eq!(rust, ["to rust"]);
    }

    #[tokio::test]
    async fn a_batch_is_stored_in_order_once_per_client_offset() {
        let store = store().await;
        let batch: Vec<NewMessage<'_>> = ["a", "b", "b"]
            .iter()
            .map(|k| NewMessage { content: k, client_offset: Some(k), room: Some("r"), except: None })
            .collect();
        let results = store.insert_many(&batch).await.unwrap();
        let Inserted::New(b) = &results[1] else { panic!("b is new") };
        assert_eq!(results[2], Inserted::Duplicate(b.server_offset));
        let stored: Vec<_> = store.page(Some("r"), None, 10).await.unwrap().into_iter().map(|m| m.content).collect();
        assert_eq!(stored, ["a", "b"]);
    }

    #[tokio::test]
    async fn creates_the_database_folder() {
        let dir = std::env::temp_dir().join(format!("socket-chat-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let url = format!("sqlite://{}/nested/chat.db", dir.display());
        let store = MessageStore::open(&url).await.unwrap();
        store.insert(NewMessage { content: "kept", ..NewMessage::default() }).await.unwrap();
        store.close().await;
        let reopened = MessageStore::open(&url).await.unwrap();
        assert_eq!(reopened.page(None, None, 1).await.unwrap()[0].content, "kept");
        // A restarted server knows where live delivery starts.
        assert_eq!(reopened.latest_offset().await.unwrap(), 1);
        // The insert connection of a file database: keys stored before, keys repeated in the
        // batch, and messages without a key, in one batch.
        let batch: Vec<NewMessage<'_>> = [Some("k1"), None, Some("k2"), Some("k1"), None, Some("k2"), Some("k3")]
            .iter()
            .map(|k| NewMessage { content: "x", client_offset: *k, ..NewMessage::default() })
            .collect();
        let first = reopened.insert_many(&batch[..3]).await.unwrap();
        let results = reopened.insert_many(&batch).await.unwrap();
        let offset = |r: &Inserted| match r {
            Inserted::New(m) => m.server_offset,
            Inserted::Duplicate(o) => *o,
        };
        assert_eq!(results.iter().filter(|r| matches!(r, Inserted::New(_))).count(), 3, "{results:?}");
        assert_eq!(offset(&results[0]), offset(&first[0]));
        assert_eq!(offset(&results[2]), offset(&first[2]));
        assert_eq!(results[3], Inserted::Duplicate(offset(&first[0])));
        assert!(matches!(results[1], Inserted::New(_)) && matches!(results[4], Inserted::New(_)));
        assert!(matches!(results[6], Inserted::New(_)));
        assert!(offset(&results[1]) < offset(&results[4]) && offset(&results[4]) < offset(&results[6]));
    }
}
