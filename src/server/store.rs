//! The message store: SQLite through sqlx, one pool for the whole process.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};

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
}

#[derive(FromRow)]
struct Row {
    id: i64,
    content: String,
    sent_at: i64,
    client_offset: Option<String>,
}

impl From<Row> for ChatMessage {
    fn from(row: Row) -> Self {
        Self { server_offset: row.id, content: row.content, sent_at: row.sent_at, client_offset: row.client_offset }
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
        let pool =
            SqlitePoolOptions::new().max_connections(if in_memory { 1 } else { 4 }).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Stores a message once per `client_offset`.
    pub async fn insert(&self, content: &str, client_offset: Option<&str>) -> Result<Inserted, StoreError> {
        let sent_at = now_millis();
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO messages (content, client_offset, sent_at) VALUES (?, ?, ?) \
             ON CONFLICT (client_offset) DO NOTHING RETURNING id",
        )
        .bind(content)
        .bind(client_offset)
        .bind(sent_at)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = id {
            return Ok(Inserted::New(ChatMessage {
                server_offset: id,
                content: content.to_owned(),
                sent_at,
                client_offset: client_offset.map(str::to_owned),
            }));
        }
        let existing: i64 = sqlx::query_scalar("SELECT id FROM messages WHERE client_offset = ?")
            .bind(client_offset)
            .fetch_one(&self.pool)
            .await?;
        Ok(Inserted::Duplicate(existing))
    }

    /// Up to `limit` messages after `server_offset`, oldest first.
    pub async fn after(&self, server_offset: i64, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        let rows: Vec<Row> =
            sqlx::query_as("SELECT id, content, sent_at, client_offset FROM messages WHERE id > ? ORDER BY id LIMIT ?")
                .bind(server_offset)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The `limit` latest messages, oldest first.
    pub async fn latest(&self, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        let mut rows: Vec<Row> =
            sqlx::query_as("SELECT id, content, sent_at, client_offset FROM messages ORDER BY id DESC LIMIT ?")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.reverse();
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Waits for queries in flight, then closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
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
        let Inserted::New(first) = store.insert("hi", Some("a-1")).await.unwrap() else {
            panic!("first insert must be new");
        };
        assert_eq!(store.insert("hi", Some("a-1")).await.unwrap(), Inserted::Duplicate(first.server_offset));
        assert!(matches!(store.insert("hi", None).await.unwrap(), Inserted::New(_)));
        assert!(matches!(store.insert("hi", None).await.unwrap(), Inserted::New(_)));
        assert_eq!(store.latest(10).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn after_and_latest_are_in_offset_order() {
        let store = store().await;
        for i in 0..5 {
            store.insert(&format!("m{i}"), None).await.unwrap();
        }
        let after: Vec<_> = store.after(2, 10).await.unwrap().into_iter().map(|m| m.content).collect();
        assert_eq!(after, ["m2", "m3", "m4"]);
        let latest: Vec<_> = store.latest(2).await.unwrap().into_iter().map(|m| m.server_offset).collect();
        assert_eq!(latest, [4, 5]);
    }

    #[tokio::test]
    async fn creates_the_database_folder() {
        let dir = std::env::temp_dir().join(format!("socket-chat-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let url = format!("sqlite://{}/nested/chat.db", dir.display());
        let store = MessageStore::open(&url).await.unwrap();
        store.insert("kept", None).await.unwrap();
        store.close().await;
        let reopened = MessageStore::open(&url).await.unwrap();
        assert_eq!(reopened.latest(1).await.unwrap()[0].content, "kept");
    }
}
