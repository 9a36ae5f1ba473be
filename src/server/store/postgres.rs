//! The shared store: PostgreSQL through sqlx, for any number of nodes.
//!
//! Offsets never skip (docs/CLUSTER.md): each transaction that stores messages first takes
//! the transaction-scoped advisory lock [`OFFSET_LOCK`], then draws its ids from the
//! sequence, inserts and commits; the lock is released only once the commit is visible. So
//! the transaction holding 105 cannot even draw its id before the one holding 104 has
//! committed (or rolled back), and a reader that sees 105 has already been able to see 104.
//! The commit also sends `NOTIFY` on [`CHANNEL`] (delivered at commit), which wakes every
//! node's [`Feed`]: each node then reads what follows its last delivered offset, in order.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::queries::Queries;
use super::{COLUMNS, InsertPlan, Inserted, NewMessage, Row, StoreError, insert_rows, now_millis, redacted};
use crate::protocol::ChatMessage;

/// The advisory lock every writer of every node holds from drawing its ids to its commit
/// ("sockchat" in ASCII: any number no other application uses on the database).
pub const OFFSET_LOCK: i64 = 0x736f_636b_6368_6174;

/// The `LISTEN`/`NOTIFY` channel announcing new messages (the payload is the last offset).
pub const CHANNEL: &str = "socket_chat_messages";

/// Longest a query waits for a connection: when PostgreSQL is down, senders get an
/// `unavailable` ack after this rather than waiting for ever.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The PostgreSQL store; cheap to clone.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` and applies the migrations (sqlx takes a lock for that, so nodes
    /// starting together migrate once).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect { url: redacted(url), source })?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Stores messages in one transaction under the offset lock, each once per
    /// `client_offset`; one result per message, in order: one multi-row `INSERT` per
    /// [`INSERT_ROWS`](super::INSERT_ROWS) messages ([`InsertPlan`]).
    pub async fn insert_many(&self, messages: &[NewMessage<'_>]) -> Result<Vec<Inserted>, StoreError> {
        self.insert_many_paused(messages, async {}).await
    }

    /// [`insert_many`](Self::insert_many), awaiting `before_commit` with the transaction
    /// open and the lock held: the interleaving test holds one node's commit this way.
    #[doc(hidden)]
    pub async fn insert_many_paused(
        &self,
        messages: &[NewMessage<'_>],
        before_commit: impl Future<Output = ()>,
    ) -> Result<Vec<Inserted>, StoreError> {
        let sent_at = now_millis();
        let mut tx = self.pool.begin().await?;
        // Before any id is drawn: ids are then drawn and committed one transaction at a time.
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(OFFSET_LOCK).execute(&mut *tx).await?;
        let mut plan = InsertPlan::new(messages);
        let mut inserted = Vec::with_capacity(messages.len());
        for chunk in plan.chunks() {
            let mut insert = insert_rows::<Postgres>(chunk, sent_at);
            inserted.extend(insert.build_query_as::<(i64, Option<String>)>().fetch_all(&mut *tx).await?);
        }
        plan.inserted(inserted);
        let missing = plan.missing_keys();
        if !missing.is_empty() {
            let before: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, client_offset FROM messages WHERE client_offset = ANY($1)")
                    .bind(missing)
                    .fetch_all(&mut *tx)
                    .await?;
            plan.stored_before(before);
        }
        // Before the commit: a batch that does not match is rolled back, not broadcast.
        let results = plan.results(sent_at)?;
        let last = results.iter().rev().find_map(|r| match r {
            Inserted::New(message) => Some(message.server_offset),
            Inserted::Duplicate(_) => None,
        });
        if let Some(last) = last {
            // Delivered to the listeners when (and only if) the transaction commits.
            sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(last.to_string()).execute(&mut *tx).await?;
        }
        before_commit.await;
        tx.commit().await?;
        Ok(results)
    }

    /// The queries whose SQL both engines share.
    pub(super) fn queries(&self) -> Queries<'_, Postgres> {
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
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM messages WHERE id > $1 AND id <= $4 AND ( \
                (room IS NULL AND recipient_id IS NULL AND (except_room IS NULL OR except_room <> ALL($2))) \
                OR room = ANY($2) \
                OR (recipient_id IS NOT NULL AND (recipient_id = $5 OR author_id = $5)) \
             ) ORDER BY id LIMIT $3"
        ))
        .bind(server_offset)
        .bind(rooms)
        .bind(i64::from(limit))
        .bind(until)
        .bind(me)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Keeps the highest of the mark and `offset`; returns it.
    pub async fn mark_read(&self, user_id: &str, key: &str, offset: i64) -> Result<i64, StoreError> {
        let last_read: i64 = sqlx::query_scalar(
            "INSERT INTO read_marks (user_id, conversation, last_read) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, conversation) DO UPDATE \
             SET last_read = GREATEST(read_marks.last_read, excluded.last_read) RETURNING last_read",
        )
        .bind(user_id)
        .bind(key)
        .bind(offset)
        .fetch_one(&self.pool)
        .await?;
        Ok(last_read)
    }

    /// Starts listening for other nodes' commits.
    pub fn feed(&self) -> Feed {
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(listen(self.pool.clone(), wake.clone()));
        Feed { wake, task }
    }

    /// Waits for queries in flight, then closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Wakes up when messages may have been stored by any node.
///
/// Backed by `LISTEN` on one connection of its own, which sqlx re-establishes (and listens
/// again) after PostgreSQL comes back; a wake-up is also given on every reconnection,
/// since notifications sent meanwhile are lost. The writer polls as well, slowly, so a
/// notification lost any other way delays a message but never loses it.
pub struct Feed {
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Feed {
    /// Completes at the next notification (or at once if one came since the last call).
    pub async fn changed(&self) {
        self.wake.notified().await;
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Ends when the pool closes: the listener holds one of its connections, which
/// `PgPool::close` waits for (sqlx's listener answers `PoolClosed` but keeps it).
async fn listen(pool: PgPool, wake: Arc<Notify>) {
    let mut listener = loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => break listener,
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => warn!(error = %e, "cannot LISTEN for new messages; retrying"),
            },
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => warn!(error = %e, "cannot LISTEN for new messages; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let mut lost = false;
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => {
                if lost {
                    info!("listening for new messages again");
                    lost = false;
                }
                wake.notify_one();
            }
            Ok(None) => {
                // The connection dropped; the next call reconnects. Look at the table anyway.
                if !lost {
                    warn!("lost the LISTEN connection to PostgreSQL; reconnecting");
                    lost = true;
                }
                wake.notify_one();
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                if !lost {
                    warn!(error = %e, "cannot LISTEN for new messages; retrying");
                    lost = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
