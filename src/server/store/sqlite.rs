//! The embedded store: SQLite through sqlx, one pool for the whole process, and one
//! connection of its own for the writer's batches.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::Mutex;

use super::queries::Queries;
use super::{COLUMNS, INSERT_ROWS, InsertPlan, Inserted, NewMessage, Row, StoreError, insert_rows, now_millis};
use crate::protocol::ChatMessage;

/// The embedded store: one SQLite file, one pool for the whole process.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Every read, and the writes other than messages.
    pool: SqlitePool,
    /// The writer's own connection for storing messages, on a file database (`None` in
    /// memory, where the database is the pool's single connection, and once closed).
    inserts: Arc<Mutex<Option<SqliteConnection>>>,
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
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 4 })
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let inserts = match in_memory {
            true => None,
            false => Some(options.connect().await?),
        };
        Ok(Self { pool, inserts: Arc::new(Mutex::new(inserts)) })
    }

    /// Stores messages in one transaction (one commit for the lot: the writer's group
    /// commit, and seeding), each once per `client_offset`; one result per message, in order.
    ///
    /// One multi-row `INSERT` per [`INSERT_ROWS`](super::INSERT_ROWS) messages
    /// ([`InsertPlan`]). On a file database it runs on the store's own insert connection, so
    /// a batch never waits behind replays and history pages for a pooled one.
    pub async fn insert_many(&self, messages: &[NewMessage<'_>]) -> Result<Vec<Inserted>, StoreError> {
        let mut inserts = self.inserts.lock().await;
        match inserts.as_mut() {
            Some(connection) => insert_batch(connection, messages).await,
            None => insert_batch(&mut *self.pool.acquire().await?, messages).await,
        }
    }

    /// The queries whose SQL both engines share.
    pub(super) fn queries(&self) -> Queries<'_, Sqlite> {
        Queries(&self.pool)
    }

    /// See [`MessageStore::after`](super::MessageStore::after).
    pub async fn after(
        &self,
        server_offset: i64,
        until: i64,
        rooms: &[String],
        me: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rooms = serde_json::to_string(rooms).unwrap_or_else(|_| "[]".into());
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM messages WHERE id > ?1 AND id <= ?4 AND ( \
                (room IS NULL AND recipient_id IS NULL \
                  AND (except_room IS NULL OR except_room NOT IN (SELECT value FROM json_each(?2)))) \
                OR room IN (SELECT value FROM json_each(?2)) \
                OR (recipient_id IS NOT NULL AND (recipient_id = ?5 OR author_id = ?5)) \
             ) ORDER BY id LIMIT ?3"
        ))
        .bind(server_offset)
        .bind(rooms)
        .bind(limit)
        .bind(until)
        .bind(me)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Keeps the highest of the mark and `offset`; returns it.
    pub async fn mark_read(&self, user_id: &str, key: &str, offset: i64) -> Result<i64, StoreError> {
        let (last_read,): (i64,) = sqlx::query_as(
            "INSERT INTO read_marks (user_id, conversation, last_read) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id, conversation) DO UPDATE SET last_read = MAX(last_read, excluded.last_read) \
             RETURNING last_read",
        )
        .bind(user_id)
        .bind(key)
        .bind(offset)
        .fetch_one(&self.pool)
        .await?;
        Ok(last_read)
    }

    /// Waits for queries in flight, then closes every connection.
    pub async fn close(&self) {
        // Waits for the batch in flight; a later one fails on the closed pool.
        if let Some(connection) = self.inserts.lock().await.take() {
            let _ = connection.close().await;
        }
        self.pool.close().await;
    }
}

/// [`SqliteStore::insert_many`] on one connection.
///
/// A lone message (what a quiet chat sends: the writer's batch of one) is one auto-committed
/// `INSERT` rather than `BEGIN`, `INSERT`, `COMMIT`: one command to the SQLite thread
/// instead of three. It cannot be half done: the statement stores its one row or, for a
/// client offset stored before, nothing, which the read after it finds.
async fn insert_batch(
    connection: &mut SqliteConnection,
    messages: &[NewMessage<'_>],
) -> Result<Vec<Inserted>, StoreError> {
    if let [_] = messages {
        return insert_and_read(connection, messages).await;
    }
    let mut tx = connection.begin().await?;
    // Before the commit: a batch that does not match is rolled back, not broadcast.
    let results = insert_and_read(&mut tx, messages).await?;
    tx.commit().await?;
    Ok(results)
}

/// Inserts `messages` and reads the offsets of those whose client offset was stored before;
/// one result per message.
async fn insert_and_read(
    connection: &mut SqliteConnection,
    messages: &[NewMessage<'_>],
) -> Result<Vec<Inserted>, StoreError> {
    let sent_at = now_millis();
    let mut plan = InsertPlan::new(messages);
    let mut inserted = Vec::with_capacity(messages.len());
    for chunk in plan.chunks() {
        let mut insert = insert_rows::<Sqlite>(chunk, sent_at);
        inserted.extend(insert.build_query_as::<(i64, Option<String>)>().fetch_all(&mut *connection).await?);
    }
    plan.inserted(inserted);
    let mut before = Vec::new();
    for keys in plan.missing_keys().chunks(INSERT_ROWS) {
        let mut select = QueryBuilder::<Sqlite>::new("SELECT id, client_offset FROM messages WHERE client_offset IN (");
        let mut list = select.separated(", ");
        for key in keys {
            list.push_bind(*key);
        }
        list.push_unseparated(")");
        before.extend(select.build_query_as::<(i64, String)>().fetch_all(&mut *connection).await?);
    }
    plan.stored_before(before);
    plan.results(sent_at)
}
