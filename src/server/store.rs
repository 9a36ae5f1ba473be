//! The message store: SQLite through sqlx, one pool for the whole process.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};

use crate::protocol::{ChatMessage, Conversation, UnreadCount, UserInfo};

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

#[derive(FromRow)]
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

/// The key of a conversation in `read_marks`.
pub fn conversation_key(conversation: &Conversation) -> String {
    match conversation {
        Conversation::Everyone => "everyone".into(),
        Conversation::Room(room) => format!("room:{room}"),
        Conversation::User(id) => format!("user:{id}"),
    }
}

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
    pub async fn insert(&self, new: NewMessage<'_>) -> Result<Inserted, StoreError> {
        let mut inserted = self.insert_many(&[new]).await?;
        Ok(inserted.pop().expect("one result per message"))
    }

    /// Stores messages in one transaction (one commit for the lot: the writer's group
    /// commit, and seeding), each once per `client_offset`; one result per message, in order.
    pub async fn insert_many(&self, messages: &[NewMessage<'_>]) -> Result<Vec<Inserted>, StoreError> {
        let sent_at = now_millis();
        let mut tx = self.pool.begin().await?;
        let mut results = Vec::with_capacity(messages.len());
        for new in messages {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO messages (content, client_offset, sent_at, room, except_room, author_id, author_name, \
                 recipient_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_offset) DO NOTHING RETURNING id",
            )
            .bind(new.content)
            .bind(new.client_offset)
            .bind(sent_at)
            .bind(new.room)
            .bind(new.except)
            .bind(new.author.map(|a| a.user_id.as_str()))
            .bind(new.author.map(|a| a.nickname.as_str()))
            .bind(new.recipient)
            .fetch_optional(&mut *tx)
            .await?;
            results.push(match id {
                Some(id) => Inserted::New(ChatMessage {
                    server_offset: id,
                    content: new.content.to_owned(),
                    sent_at,
                    client_offset: new.client_offset.map(str::to_owned),
                    room: new.room.map(str::to_owned),
                    except: new.except.map(str::to_owned),
                    author: new.author.cloned(),
                    user: new.recipient.map(str::to_owned),
                }),
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

    /// Up to `limit` messages after `server_offset` that the user `me` (`None`: a socket
    /// without a session) in `rooms` may see, oldest first: those for everyone (but not
    /// those for everyone except one of `rooms`), those for one of `rooms`, and the private
    /// messages `me` sent or received.
    pub async fn after(
        &self,
        server_offset: i64,
        rooms: &[String],
        me: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rooms = serde_json::to_string(rooms).unwrap_or_else(|_| "[]".into());
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM messages WHERE id > ?1 AND ( \
                (room IS NULL AND recipient_id IS NULL \
                  AND (except_room IS NULL OR except_room NOT IN (SELECT value FROM json_each(?2)))) \
                OR room IN (SELECT value FROM json_each(?2)) \
                OR (recipient_id IS NOT NULL AND (recipient_id = ?4 OR author_id = ?4)) \
             ) ORDER BY id LIMIT ?3"
        ))
        .bind(server_offset)
        .bind(rooms)
        .bind(limit)
        .bind(me)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The `limit` latest messages of `of` (to everyone: the except-room ones included)
    /// older than `before` (all when `None`), oldest first: a page of history, read
    /// backwards through the `(room, id)` index, or the private one.
    pub async fn page(&self, of: PageOf<'_>, before: Option<i64>, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        let filter = match of {
            PageOf::Everyone => "room IS NULL AND recipient_id IS NULL",
            PageOf::Room(_) => "room = ?3",
            PageOf::Private { .. } => "((recipient_id = ?3 AND author_id = ?4) OR (recipient_id = ?4 AND author_id = ?3))",
        };
        let sql = format!("SELECT {COLUMNS} FROM messages WHERE {filter} AND id < ?1 ORDER BY id DESC LIMIT ?2");
        let mut query = sqlx::query_as(&sql).bind(before.unwrap_or(i64::MAX)).bind(limit);
        match of {
            PageOf::Everyone => {}
            PageOf::Room(room) => query = query.bind(room),
            PageOf::Private { me, peer } => query = query.bind(me).bind(peer),
        }
        let mut rows: Vec<Row> = query.fetch_all(&self.pool).await?;
        rows.reverse();
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The offset of the latest message (0 when there is none).
    pub async fn latest_offset(&self) -> Result<i64, StoreError> {
        let (latest,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM messages").fetch_one(&self.pool).await?;
        Ok(latest)
    }

    /// The user whose session id hashes to `session_hash`, if any.
    pub async fn user_by_session(&self, session_hash: &str) -> Result<Option<UserInfo>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as("SELECT user_id, nickname FROM users WHERE session_hash = ?")
            .bind(session_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(user_id, nickname)| UserInfo { user_id, nickname }))
    }

    /// The user `user_id`, if any.
    pub async fn user(&self, user_id: &str) -> Result<Option<UserInfo>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as("SELECT user_id, nickname FROM users WHERE user_id = ?")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(user_id, nickname)| UserInfo { user_id, nickname }))
    }

    /// Creates `user` with the session whose id hashes to `session_hash`; their unread
    /// counts start at the latest message.
    pub async fn create_user(&self, user: &UserInfo, session_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (user_id, session_hash, nickname, created_at, joined_offset) \
             VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM messages))",
        )
        .bind(&user.user_id)
        .bind(session_hash)
        .bind(&user.nickname)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Changes the nickname of `user` (messages already sent keep the name they were sent with).
    pub async fn rename_user(&self, user: &UserInfo) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET nickname = ? WHERE user_id = ?")
            .bind(&user.nickname)
            .bind(&user.user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Everything up to `offset` in `conversation` is read by `user_id` (a mark never goes
    /// back). Returns the mark now kept.
    pub async fn mark_read(&self, user_id: &str, conversation: &Conversation, offset: i64) -> Result<i64, StoreError> {
        let (last_read,): (i64,) = sqlx::query_as(
            "INSERT INTO read_marks (user_id, conversation, last_read) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id, conversation) DO UPDATE SET last_read = MAX(last_read, excluded.last_read) \
             RETURNING last_read",
        )
        .bind(user_id)
        .bind(conversation_key(conversation))
        .bind(offset)
        .fetch_one(&self.pool)
        .await?;
        Ok(last_read)
    }

    /// The unread counts of `user_id`: messages from others after the user's last-read
    /// offset (or after the latest message when they arrived) to everyone, in each of
    /// `rooms`, and in each private conversation they have.
    pub async fn unread(&self, user_id: &str, rooms: &[String]) -> Result<Vec<UnreadCount>, StoreError> {
        let mut conversations: Vec<(Conversation, Option<UserInfo>)> = vec![(Conversation::Everyone, None)];
        conversations.extend(rooms.iter().map(|r| (Conversation::Room(r.clone()), None)));
        let peers: Vec<(String, String)> = sqlx::query_as(
            "SELECT u.user_id, u.nickname FROM users u WHERE u.user_id IN ( \
                SELECT CASE WHEN author_id = ?1 THEN recipient_id ELSE author_id END FROM messages \
                WHERE recipient_id IS NOT NULL AND (author_id = ?1 OR recipient_id = ?1)) ORDER BY u.nickname",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        conversations.extend(peers.into_iter().map(|(user_id, nickname)| {
            (Conversation::User(user_id.clone()), Some(UserInfo { user_id, nickname }))
        }));
        let (joined_offset,): (i64,) =
            sqlx::query_as("SELECT COALESCE((SELECT joined_offset FROM users WHERE user_id = ?), 0)")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
        let mut counts = Vec::with_capacity(conversations.len());
        for (conversation, peer) in conversations {
            let mark: Option<(i64,)> =
                sqlx::query_as("SELECT last_read FROM read_marks WHERE user_id = ? AND conversation = ?")
                    .bind(user_id)
                    .bind(conversation_key(&conversation))
                    .fetch_optional(&self.pool)
                    .await?;
            let last_read = mark.map_or(joined_offset, |(m,)| m);
            let filter = match &conversation {
                Conversation::Everyone => "room IS NULL AND recipient_id IS NULL",
                Conversation::Room(_) => "room = ?3",
                Conversation::User(_) => "recipient_id = ?2 AND author_id = ?3",
            };
            let sql = format!(
                "SELECT COUNT(*) FROM messages WHERE {filter} AND id > ?1 AND (author_id IS NULL OR author_id <> ?2)"
            );
            let mut query = sqlx::query_as(&sql).bind(last_read).bind(user_id);
            match &conversation {
                Conversation::Everyone => {}
                Conversation::Room(key) | Conversation::User(key) => query = query.bind(key),
            }
            let (count,): (i64,) = query.fetch_one(&self.pool).await?;
            counts.push(UnreadCount { conversation, count: count.clamp(0, u32::MAX as i64) as u32, last_read, peer });
        }
        Ok(counts)
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
        assert_eq!(store.page(PageOf::Everyone, None, 10).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn after_and_latest_are_in_offset_order() {
        let store = store().await;
        assert_eq!(store.latest_offset().await.unwrap(), 0, "an empty store");
        for i in 0..5 {
            store.insert(NewMessage { content: &format!("m{i}"), ..NewMessage::default() }).await.unwrap();
        }
        let after: Vec<_> = store.after(2, &[], None, 10).await.unwrap().into_iter().map(|m| m.content).collect();
        assert_eq!(after, ["m2", "m3", "m4"]);
        let latest: Vec<_> = store.page(PageOf::Everyone, None, 2).await.unwrap().into_iter().map(|m| m.server_offset).collect();
        assert_eq!(latest, [4, 5]);
        let older: Vec<_> = store.page(PageOf::Everyone, Some(4), 2).await.unwrap().into_iter().map(|m| m.server_offset).collect();
        assert_eq!(older, [2, 3]);
        assert!(store.page(PageOf::Everyone, Some(1), 2).await.unwrap().is_empty());
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
                store.after(0, &rooms, None, 10).await.unwrap().into_iter().map(|m| m.content).collect::<Vec<_>>()
            }
        };
        assert_eq!(seen(&[]).await, ["all", "all but rust"]);
        assert_eq!(seen(&["rust"]).await, ["all", "to rust"]);
        assert_eq!(seen(&["go", "rust"]).await, ["all", "to rust", "to go"]);
        let rust: Vec<_> = store.page(PageOf::Room("rust"), None, 10).await.unwrap().into_iter().map(|m| m.content).collect();
        assert_eq!(rust, ["to rust"]);
    }

    #[tokio::test]
    async fn a_batch_is_stored_in_order_once_per_client_offset() {
        let store = store().await;
        let batch: Vec<NewMessage<'_>> = ["a", "b", "b"]
            .iter()
            .map(|k| NewMessage { content: k, client_offset: Some(k), room: Some("r"), ..NewMessage::default() })
            .collect();
        let results = store.insert_many(&batch).await.unwrap();
        let Inserted::New(b) = &results[1] else { panic!("b is new") };
        assert_eq!(results[2], Inserted::Duplicate(b.server_offset));
        let stored: Vec<_> = store.page(PageOf::Room("r"), None, 10).await.unwrap().into_iter().map(|m| m.content).collect();
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
        assert_eq!(reopened.page(PageOf::Everyone, None, 1).await.unwrap()[0].content, "kept");
        // A restarted server knows where live delivery starts.
        assert_eq!(reopened.latest_offset().await.unwrap(), 1);
    }

    fn user(id: &str, nickname: &str) -> UserInfo {
        UserInfo { user_id: id.repeat(32), nickname: nickname.into() }
    }

    #[tokio::test]
    async fn private_messages_reach_only_their_two_users() {
        let store = store().await;
        let (ada, bob, eve) = (user("a", "Ada"), user("b", "Bob"), user("e", "Eve"));
        for (u, hash) in [(&ada, "ha"), (&bob, "hb"), (&eve, "he")] {
            store.create_user(u, hash).await.unwrap();
        }
        assert_eq!(store.user_by_session("hb").await.unwrap(), Some(bob.clone()));
        assert_eq!(store.user_by_session("nope").await.unwrap(), None);
        let send = |content: &'static str, author: &UserInfo, recipient: Option<&UserInfo>| {
            let (store, author, recipient) = (store.clone(), author.clone(), recipient.map(|r| r.user_id.clone()));
            async move {
                let new = NewMessage { content, author: Some(&author), recipient: recipient.as_deref(), ..NewMessage::default() };
                store.insert(new).await.unwrap();
            }
        };
        send("hello all", &ada, None).await;
        send("psst bob", &ada, Some(&bob)).await;
        send("hi ada", &bob, Some(&ada)).await;
        send("eve to ada", &eve, Some(&ada)).await;
        let contents = |m: Vec<ChatMessage>| m.into_iter().map(|m| m.content).collect::<Vec<_>>();
        // Everyone's history and an anonymous replay never hold a private message.
        assert_eq!(contents(store.page(PageOf::Everyone, None, 10).await.unwrap()), ["hello all"]);
        assert_eq!(contents(store.after(0, &[], None, 10).await.unwrap()), ["hello all"]);
        assert_eq!(contents(store.after(0, &[], Some(&bob.user_id), 10).await.unwrap()), ["hello all", "psst bob", "hi ada"]);
        assert_eq!(contents(store.after(0, &[], Some(&eve.user_id), 10).await.unwrap()), ["hello all", "eve to ada"]);
        let between = PageOf::Private { me: &bob.user_id, peer: &ada.user_id };
        let page = store.page(between, None, 10).await.unwrap();
        assert_eq!(page[0].author.as_ref(), Some(&ada), "the author is stored with the message");
        assert_eq!(contents(page), ["psst bob", "hi ada"]);
        // Unread: from others only, after the mark, per conversation.
        let unread = store.unread(&ada.user_id, &[]).await.unwrap();
        let count = |u: &[UnreadCount], c: &Conversation| u.iter().find(|x| x.conversation == *c).map(|x| x.count);
        assert_eq!(count(&unread, &Conversation::Everyone), Some(0), "her own message is not unread");
        assert_eq!(count(&unread, &Conversation::User(bob.user_id.clone())), Some(1));
        assert_eq!(count(&unread, &Conversation::User(eve.user_id.clone())), Some(1));
        let eve_conv = Conversation::User(eve.user_id.clone());
        let last = store.latest_offset().await.unwrap();
        assert_eq!(store.mark_read(&ada.user_id, &eve_conv, last).await.unwrap(), last);
        assert_eq!(store.mark_read(&ada.user_id, &eve_conv, 1).await.unwrap(), last, "a mark never goes back");
        assert_eq!(count(&store.unread(&ada.user_id, &[]).await.unwrap(), &eve_conv), Some(0));
        // A nickname change is kept; messages keep the name they were sent with.
        store.rename_user(&UserInfo { nickname: "Ada L".into(), ..ada.clone() }).await.unwrap();
        assert_eq!(store.user(&ada.user_id).await.unwrap().unwrap().nickname, "Ada L");
        assert_eq!(store.page(PageOf::Everyone, None, 1).await.unwrap()[0].author.as_ref().unwrap().nickname, "Ada");
    }

    #[tokio::test]
    async fn a_new_user_has_not_missed_the_past() {
        let store = store().await;
        store.insert(NewMessage { content: "old news", ..NewMessage::default() }).await.unwrap();
        let late = user("c", "Cy");
        store.create_user(&late, "hc").await.unwrap();
        store.insert(NewMessage { content: "new", ..NewMessage::default() }).await.unwrap();
        let unread = store.unread(&late.user_id, &[]).await.unwrap();
        assert_eq!((unread[0].conversation.clone(), unread[0].count), (Conversation::Everyone, 1));
    }
}
