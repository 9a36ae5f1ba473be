//! The same store tests on both engines: each test is a function of a fresh store, run once
//! on SQLite in memory and once on a PostgreSQL database of its own.

use std::time::Duration;

use super::test_database::TestDatabase;
use super::*;

/// Runs `$test(store)` on each engine, as `$test::sqlite` and `$test::postgres`.
macro_rules! on_both_engines {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn sqlite() {
                super::$test(super::MessageStore::open("sqlite::memory:").await.unwrap()).await;
            }

            #[tokio::test]
            async fn postgres() {
                let database = super::TestDatabase::create().await;
                let store = super::MessageStore::open(&database.url).await.unwrap();
                super::$test(store.clone()).await;
                store.close().await;
            }
        }
    )*};
}

on_both_engines!(
    a_client_offset_is_stored_once,
    after_and_latest_are_in_offset_order,
    replays_only_what_a_member_of_the_rooms_may_see,
    a_batch_is_stored_in_order_once_per_client_offset,
    batches_store_what_one_by_one_would,
    private_messages_reach_only_their_two_users,
    a_new_user_has_not_missed_the_past,
);

async fn a_client_offset_is_stored_once(store: MessageStore) {
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

async fn after_and_latest_are_in_offset_order(store: MessageStore) {
    assert_eq!(store.latest_offset().await.unwrap(), 0, "an empty store");
    for i in 0..5 {
        store.insert(NewMessage { content: &format!("m{i}"), ..NewMessage::default() }).await.unwrap();
    }
    let texts = |messages: Vec<ChatMessage>| messages.into_iter().map(|m| m.content).collect::<Vec<_>>();
    assert_eq!(texts(store.after(2, i64::MAX, &[], None, 10).await.unwrap()), ["m2", "m3", "m4"]);
    assert_eq!(texts(store.after(2, 4, &[], None, 10).await.unwrap()), ["m2", "m3"], "up to `until` only");
    assert_eq!(texts(store.all_after(3, 10).await.unwrap()), ["m3", "m4"]);
    let latest: Vec<_> =
        store.page(PageOf::Everyone, None, 2).await.unwrap().into_iter().map(|m| m.server_offset).collect();
    assert_eq!(latest, [4, 5]);
    let older: Vec<_> =
        store.page(PageOf::Everyone, Some(4), 2).await.unwrap().into_iter().map(|m| m.server_offset).collect();
    assert_eq!(older, [2, 3]);
    assert!(store.page(PageOf::Everyone, Some(1), 2).await.unwrap().is_empty());
    assert_eq!(store.latest_offset().await.unwrap(), 5);
    store.ping().await.unwrap();
}

async fn replays_only_what_a_member_of_the_rooms_may_see(store: MessageStore) {
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
            store.after(0, i64::MAX, &rooms, None, 10).await.unwrap().into_iter().map(|m| m.content).collect::<Vec<_>>()
        }
    };
    assert_eq!(seen(&[]).await, ["all", "all but rust"]);
    assert_eq!(seen(&["rust"]).await, ["all", "to rust"]);
    assert_eq!(seen(&["go", "rust"]).await, ["all", "to rust", "to go"]);
    let rust: Vec<_> =
        store.page(PageOf::Room("rust"), None, 10).await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(rust, ["to rust"]);
    let everyone: Vec<_> =
        store.page(PageOf::Everyone, None, 10).await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(everyone, ["all", "all but rust"]);
}

async fn a_batch_is_stored_in_order_once_per_client_offset(store: MessageStore) {
    let batch: Vec<NewMessage<'_>> = ["a", "b", "b"]
        .iter()
        .map(|k| NewMessage { content: k, client_offset: Some(k), room: Some("r"), ..NewMessage::default() })
        .collect();
    let results = store.insert_many(&batch).await.unwrap();
    let Inserted::New(b) = &results[1] else { panic!("b is new") };
    assert_eq!(results[2], Inserted::Duplicate(b.server_offset));
    let stored: Vec<_> =
        store.page(PageOf::Room("r"), None, 10).await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(stored, ["a", "b"]);
}

/// Multi-row inserts ([`InsertPlan`]) give what storing each message alone would: keys
/// repeated inside a batch and across batches, messages without a key between them, a batch
/// larger than one `INSERT` (and one look-up of earlier keys), mixed sizes. Checked against
/// a model: the first message of a key is new, every later one a duplicate of its offset;
/// new offsets rise in sending order; the store then holds exactly the new ones.
async fn batches_store_what_one_by_one_would(store: MessageStore) {
    let big = 2 * INSERT_ROWS + 1;
    let key = |i: usize| Some(format!("k{i}"));
    let batches: Vec<Vec<(String, Option<String>)>> = vec![
        // First: keys, a message without a key, a key twice.
        vec![("a".into(), key(1)), ("b".into(), None), ("c".into(), key(2)), ("c again".into(), key(2))],
        // Keys stored before, repeated inside, new ones, no key, in one mix.
        vec![
            ("a late".into(), key(1)),
            ("d".into(), None),
            ("e".into(), key(3)),
            ("c late".into(), key(2)),
            ("e again".into(), key(3)),
            ("f".into(), None),
            ("g".into(), key(4)),
        ],
        // Larger than two INSERTs: new keys; every 7th without a key; every 5th one of the
        // keys k0 to k19 (k1 to k4 stored before, the others repeated inside the batch,
        // across its INSERTs too).
        (0..big)
            .map(|i| match i {
                _ if i % 7 == 0 => (format!("n{i}"), None),
                _ if i % 5 == 0 => (format!("r{i}"), key(i % 100 / 5)),
                _ => (format!("m{i}"), key(100 + i)),
            })
            .collect(),
        // The large batch again: every key stored before (more than one look-up's worth).
        (0..big).filter(|i| i % 7 != 0).map(|i| (format!("again {i}"), key(100 + i))).collect(),
    ];
    let mut model: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let mut stored_contents = Vec::new();
    let mut last = 0;
    for batch in &batches {
        let messages: Vec<NewMessage<'_>> = batch
            .iter()
            .map(|(content, key)| NewMessage { content, client_offset: key.as_deref(), ..NewMessage::default() })
            .collect();
        let results = store.insert_many(&messages).await.unwrap();
        assert_eq!(results.len(), messages.len());
        for ((content, key), result) in batch.iter().zip(results) {
            match (key.as_ref().and_then(|k| model.get(k)), result) {
                (Some(&first), Inserted::Duplicate(offset)) => {
                    assert_eq!(offset, first, "{content}: the first's offset")
                }
                (None, Inserted::New(message)) => {
                    assert!(message.server_offset > last, "{content}: offsets rise in sending order");
                    assert_eq!((&message.content, &message.client_offset), (content, key));
                    last = message.server_offset;
                    if let Some(key) = key {
                        model.insert(key.clone(), last);
                    }
                    stored_contents.push(content.clone());
                }
                (expected, result) => panic!("{content} ({key:?}): expected {expected:?}, got {result:?}"),
            }
        }
    }
    let all = store.all_after(0, u32::MAX).await.unwrap();
    assert_eq!(all.iter().map(|m| &m.content).collect::<Vec<_>>(), stored_contents.iter().collect::<Vec<_>>());
    assert_eq!(store.latest_offset().await.unwrap(), last);
}

/// A file database stores batches on a connection of its own: the same checks there, and
/// a store closed while idle refuses a batch rather than hanging.
#[tokio::test]
async fn sqlite_file_batches_on_their_own_connection() {
    let dir = std::env::temp_dir().join(format!("socket-chat-batches-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = MessageStore::open(&format!("sqlite://{}/chat.db", dir.display())).await.unwrap();
    batches_store_what_one_by_one_would(store.clone()).await;
    store.close().await;
    assert!(store.insert(NewMessage { content: "late", ..NewMessage::default() }).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sqlite_creates_the_database_folder() {
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

#[tokio::test]
async fn bad_urls_are_refused_with_a_clear_error() {
    let error = MessageStore::open("mysql://localhost/chat").await.unwrap_err();
    assert!(error.to_string().contains("unsupported database URL"), "{error}");
    // Nothing listens on port 1: one clear error, the password not repeated.
    let error = MessageStore::open("postgres://chat:secret@127.0.0.1:1/chat").await.unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("cannot connect to the database postgres://chat@127.0.0.1:1/chat"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}

/// The reason for the offset lock (docs/CLUSTER.md): two nodes commit at the same time, the
/// first one's transaction held open. The second must neither take an id below nor above
/// the first's and commit before it: a reader polling all along never sees a later offset
/// while an earlier one is still missing.
#[tokio::test]
async fn postgres_commits_of_two_nodes_never_become_visible_out_of_order() {
    let database = TestDatabase::create().await;
    let (node1, node2, reader) = (
        MessageStore::open(&database.url).await.unwrap(),
        MessageStore::open(&database.url).await.unwrap(),
        MessageStore::open(&database.url).await.unwrap(),
    );
    let (MessageStore::Postgres(first), MessageStore::Postgres(_)) = (&node1, &node2) else {
        panic!("two PostgreSQL stores");
    };
    // Some history, so the offsets are not the first ones.
    for i in 0..103 {
        node1.insert(NewMessage { content: &format!("old {i}"), ..NewMessage::default() }).await.unwrap();
    }

    // A reader that, like a client, remembers the last offset it saw and asks for what follows.
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let watcher = tokio::spawn(async move {
        let mut seen = Vec::new();
        let mut last = 0;
        loop {
            for message in reader.all_after(last, 1000).await.unwrap() {
                seen.push(message.server_offset);
                last = message.server_offset;
            }
            if stopped.try_recv().is_ok() {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });

    // Node 1 stores a message and stops before its commit, lock held.
    let (reached, at_commit) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let first = first.clone();
    let held = tokio::spawn(async move {
        let new = [NewMessage { content: "from node 1", ..NewMessage::default() }];
        first
            .insert_many_paused(&new, async move {
                let _ = reached.send(());
                let _ = released.await;
            })
            .await
            .unwrap()
    });
    at_commit.await.unwrap();
    // Node 2 stores one meanwhile: it must wait for node 1's commit.
    let second = tokio::spawn(async move {
        node2.insert(NewMessage { content: "from node 2", ..NewMessage::default() }).await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!second.is_finished(), "node 2 committed while node 1 was still storing an earlier offset");
    release.send(()).unwrap();

    let Inserted::New(one) = held.await.unwrap().remove(0) else { panic!("new") };
    let Inserted::New(two) = second.await.unwrap() else { panic!("new") };
    assert_eq!((one.server_offset, two.server_offset), (104, 105), "offsets in commit order");
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    let seen = watcher.await.unwrap();
    assert_eq!(seen, (1..=105).collect::<Vec<i64>>(), "the reader saw every offset, none skipped");
    node1.close().await;
}

fn user(id: &str, nickname: &str) -> UserInfo {
    UserInfo { user_id: id.repeat(32), nickname: nickname.into() }
}

async fn private_messages_reach_only_their_two_users(store: MessageStore) {
    let (ada, bob, eve) = (user("a", "Ada"), user("b", "Bob"), user("e", "Eve"));
    for (u, hash) in [(&ada, "ha"), (&bob, "hb"), (&eve, "he")] {
        store.create_user(u, hash).await.unwrap();
    }
    assert_eq!(store.user_by_session("hb").await.unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_session("nope").await.unwrap(), None);
    for (content, author, recipient) in [
        ("hello all", &ada, None),
        ("psst bob", &ada, Some(&bob)),
        ("hi ada", &bob, Some(&ada)),
        ("eve to ada", &eve, Some(&ada)),
    ] {
        let recipient = recipient.map(|r| r.user_id.as_str());
        store.insert(NewMessage { content, author: Some(author), recipient, ..NewMessage::default() }).await.unwrap();
    }
    let contents = |m: Vec<ChatMessage>| m.into_iter().map(|m| m.content).collect::<Vec<_>>();
    // Everyone's history and an anonymous replay never hold a private message.
    assert_eq!(contents(store.page(PageOf::Everyone, None, 10).await.unwrap()), ["hello all"]);
    assert_eq!(contents(store.after(0, i64::MAX, &[], None, 10).await.unwrap()), ["hello all"]);
    let bobs = store.after(0, i64::MAX, &[], Some(&bob.user_id), 10).await.unwrap();
    assert_eq!(contents(bobs), ["hello all", "psst bob", "hi ada"]);
    let eves = store.after(0, i64::MAX, &[], Some(&eve.user_id), 10).await.unwrap();
    assert_eq!(contents(eves), ["hello all", "eve to ada"]);
    let page = store.page(PageOf::Private { me: &bob.user_id, peer: &ada.user_id }, None, 10).await.unwrap();
    assert_eq!(page[0].author.as_ref(), Some(&ada), "the author is stored with the message");
    assert_eq!(contents(page), ["psst bob", "hi ada"]);
    // Unread: from others only, after the mark, per conversation.
    let count = |u: &[UnreadCount], c: &Conversation| u.iter().find(|x| x.conversation == *c).map(|x| x.count);
    let unread = store.unread(&ada.user_id, &[]).await.unwrap();
    assert_eq!(count(&unread, &Conversation::Everyone), Some(0), "her own message is not unread");
    assert_eq!(count(&unread, &Conversation::User(bob.user_id.clone())), Some(1));
    assert_eq!(count(&unread, &Conversation::User(eve.user_id.clone())), Some(1));
    let with_eve = Conversation::User(eve.user_id.clone());
    let last = store.latest_offset().await.unwrap();
    assert_eq!(store.mark_read(&ada.user_id, &with_eve, last).await.unwrap(), last);
    assert_eq!(store.mark_read(&ada.user_id, &with_eve, 1).await.unwrap(), last, "a mark never goes back");
    assert_eq!(count(&store.unread(&ada.user_id, &[]).await.unwrap(), &with_eve), Some(0));
    // A nickname change is kept; messages keep the name they were sent with.
    store.rename_user(&UserInfo { nickname: "Ada L".into(), ..ada.clone() }).await.unwrap();
    assert_eq!(store.user(&ada.user_id).await.unwrap().unwrap().nickname, "Ada L");
    assert_eq!(store.page(PageOf::Everyone, None, 1).await.unwrap()[0].author.as_ref().unwrap().nickname, "Ada");
}

async fn a_new_user_has_not_missed_the_past(store: MessageStore) {
    store.insert(NewMessage { content: "old news", ..NewMessage::default() }).await.unwrap();
    let late = user("c", "Cy");
    store.create_user(&late, "hc").await.unwrap();
    store.insert(NewMessage { content: "new", ..NewMessage::default() }).await.unwrap();
    let unread = store.unread(&late.user_id, &[]).await.unwrap();
    assert_eq!((unread[0].conversation.clone(), unread[0].count), (Conversation::Everyone, 1));
}
