//! The embedded store: SQLite through sqlx, one pool for the whole process, one writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{COLUMNS, Inserted, NewMessage, Row, StoreError, now_millis, stored};
use crate::protocol::ChatMessage;

/// The embedded store: one SQLite file, one pool for the whole process.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database at `url` and applies the migrations.
    ///
    /// SQLite runs in WAL mode with `synchronous = NORMAL`: a commit is durable once it
    /// returns as far as the process is concerned (a `kill -9` loses nothing committed),
    /// without an fsync per message; only an OS crash can lose the last commits.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
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
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Stores messages in one transaction (one commit for the lot: the writer's group
    /// commit, and seeding), each once per `client_offset`; one result per message, in order.
    pub async fn insert_many(&self, messages: &[NewMessage<'_>]) -> Result<Vec<Inserted>, StoreError> {
        let sent_at = now_millis();
        let mut tx = self.pool.begin().await?;
        let mut results = Vec::with_capacity(messages.len());
        for new in messages {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO messages (content, client_offset, sent_at, room, except_room) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (client_offset) DO NOTHING RETURNING id",
            )
            .bind(new.content)
            .bind(new.client_offset)
            .bind(sent_at)
            .bind(new.room)
            .bind(new.except)
            .fetch_optional(&mut *tx)
            .await?;
            results.push(match id {
                Some(id) => Inserted::New(stored(new, id, sent_at)),
                None => Inserted::Duplicate(
                    sqlx::query_scalar("SELECT id FROM messages WHERE client_offset = ?")
                        .bind(new.client_offset)
                        .fetch_one(&mut *tx)
                        .await?,
                ),
            });
        }
        tx.commit().await?;
        Ok(results)
    }

    /// Up to `limit` messages after `server_offset` that a member of `rooms` may see,
    /// oldest first: those for everyone (but not those for everyone except one of
    /// `rooms`), and those for one of `rooms`.
    pub async fn after(
        &self,
        server_offset: i64,
        until: i64,
        rooms: &[String],
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rooms = serde_json::to_string(rooms).unwrap_or_else(|_| "[]".into());
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM messages WHERE id > ?1 AND id <= ?4 AND ( \
                (room IS NULL AND (except_room IS NULL OR except_room NOT IN (SELECT value FROM json_each(?2)))) \
                OR room IN (SELECT value FROM json_each(?2)) \
             ) ORDER BY id LIMIT ?3"
        ))
        .bind(server_offset)
        .bind(rooms)
        .bind(limit)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// See [`MessageStore::all_after`](super::MessageStore::all_after).
    pub async fn all_after(&self, server_offset: i64, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        let rows: Vec<Row> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM messages WHERE id > ? ORDER BY id LIMIT ?"))
                .bind(server_offset)
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
        self.pool.close().await;
    }
}
