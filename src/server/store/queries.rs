//! The reads and writes both engines run with the same SQL.
//!
//! sqlx binds `$1`-style parameters on SQLite too (as numbered parameters), so one text and
//! one function serve both engines here; `CAST(… AS BIGINT)` is valid on both. What does
//! differ stays in the engine's file: the insert path, the replay's room filter (an array
//! on PostgreSQL, `json_each` on SQLite), `GREATEST` against `MAX`, and `LISTEN`.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::{COLUMNS, PageOf, Row, StoreError, now_millis};
use crate::protocol::{ChatMessage, Conversation, UserInfo};

/// The shared queries on one engine's pool.
pub(super) struct Queries<'a, DB: Database>(pub &'a Pool<DB>);

impl<DB> Queries<'_, DB>
where
    DB: Database,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> Row: FromRow<'r, DB::Row>,
    for<'r> (String, String): FromRow<'r, DB::Row>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
{
    /// See [`MessageStore::all_after`](super::MessageStore::all_after).
    pub async fn all_after(&self, server_offset: i64, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM messages WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<Row> = sqlx::query_as(&sql).bind(server_offset).bind(i64::from(limit)).fetch_all(self.0).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// See [`MessageStore::page`](super::MessageStore::page).
    pub async fn page(&self, of: PageOf<'_>, before: Option<i64>, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        let filter = match of {
            PageOf::Everyone => "room IS NULL AND recipient_id IS NULL",
            PageOf::Room(_) => "room = $3",
            PageOf::Private { .. } => {
                "((recipient_id = $3 AND author_id = $4) OR (recipient_id = $4 AND author_id = $3))"
            }
        };
        let sql = format!("SELECT {COLUMNS} FROM messages WHERE {filter} AND id < $1 ORDER BY id DESC LIMIT $2");
        let mut query = sqlx::query_as(&sql).bind(before.unwrap_or(i64::MAX)).bind(i64::from(limit));
        match of {
            PageOf::Everyone => {}
            PageOf::Room(room) => query = query.bind(room),
            PageOf::Private { me, peer } => query = query.bind(me).bind(peer),
        }
        let mut rows: Vec<Row> = query.fetch_all(self.0).await?;
        rows.reverse();
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// See [`MessageStore::user_by_session`](super::MessageStore::user_by_session).
    pub async fn user_by_session(&self, session_hash: &str) -> Result<Option<UserInfo>, StoreError> {
        self.one_user("SELECT user_id, nickname FROM users WHERE session_hash = $1", session_hash).await
    }

    /// See [`MessageStore::user`](super::MessageStore::user).
    pub async fn user(&self, user_id: &str) -> Result<Option<UserInfo>, StoreError> {
        self.one_user("SELECT user_id, nickname FROM users WHERE user_id = $1", user_id).await
    }

    async fn one_user(&self, sql: &str, key: &str) -> Result<Option<UserInfo>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(sql).bind(key).fetch_optional(self.0).await?;
        Ok(row.map(|(user_id, nickname)| UserInfo { user_id, nickname }))
    }

    /// See [`MessageStore::create_user`](super::MessageStore::create_user).
    pub async fn create_user(&self, user: &UserInfo, session_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (user_id, session_hash, nickname, created_at, joined_offset) \
             VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(id), 0) FROM messages))",
        )
        .bind(user.user_id.as_str())
        .bind(session_hash)
        .bind(user.nickname.as_str())
        .bind(now_millis())
        .execute(self.0)
        .await?;
        Ok(())
    }

    /// See [`MessageStore::rename_user`](super::MessageStore::rename_user).
    pub async fn rename_user(&self, user: &UserInfo) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET nickname = $1 WHERE user_id = $2")
            .bind(user.nickname.as_str())
            .bind(user.user_id.as_str())
            .execute(self.0)
            .await?;
        Ok(())
    }

    /// Every mark of `user_id`: (conversation key, last read).
    pub async fn read_marks(&self, user_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT conversation, last_read FROM read_marks WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(self.0)
            .await?)
    }

    /// The latest offset when `user_id` arrived (0 for an unknown user).
    pub async fn joined_offset(&self, user_id: &str) -> Result<i64, StoreError> {
        let sql = "SELECT CAST(COALESCE((SELECT joined_offset FROM users WHERE user_id = $1), 0) AS BIGINT)";
        let (offset,): (i64,) = sqlx::query_as(sql).bind(user_id).fetch_one(self.0).await?;
        Ok(offset)
    }

    /// Everyone `user_id` has a private conversation with, by nickname.
    pub async fn peers(&self, user_id: &str) -> Result<Vec<UserInfo>, StoreError> {
        let peers: Vec<(String, String)> = sqlx::query_as(
            "SELECT u.user_id, u.nickname FROM users u WHERE u.user_id IN ( \
                SELECT CASE WHEN author_id = $1 THEN recipient_id ELSE author_id END FROM messages \
                WHERE recipient_id IS NOT NULL AND (author_id = $1 OR recipient_id = $1)) ORDER BY u.nickname",
        )
        .bind(user_id)
        .fetch_all(self.0)
        .await?;
        Ok(peers.into_iter().map(|(user_id, nickname)| UserInfo { user_id, nickname }).collect())
    }

    /// Messages from others after `last_read` in `conversation`, for `user_id`.
    pub async fn count_unread(
        &self,
        user_id: &str,
        conversation: &Conversation,
        last_read: i64,
    ) -> Result<i64, StoreError> {
        let filter = match conversation {
            Conversation::Everyone => "room IS NULL AND recipient_id IS NULL",
            Conversation::Room(_) => "room = $3",
            Conversation::User(_) => "recipient_id = $2 AND author_id = $3",
        };
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM messages \
             WHERE {filter} AND id > $1 AND (author_id IS NULL OR author_id <> $2)"
        );
        let mut query = sqlx::query_as(&sql).bind(last_read).bind(user_id);
        match conversation {
            Conversation::Everyone => {}
            Conversation::Room(key) | Conversation::User(key) => query = query.bind(key.as_str()),
        }
        let (count,): (i64,) = query.fetch_one(self.0).await?;
        Ok(count)
    }

    /// The offset of the latest message (0 when there is none).
    pub async fn latest_offset(&self) -> Result<i64, StoreError> {
        let sql = "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM messages";
        let (latest,): (i64,) = sqlx::query_as(sql).fetch_one(self.0).await?;
        Ok(latest)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.0).await?;
        Ok(())
    }
}
