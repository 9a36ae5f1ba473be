//! Who is who: sessions and nicknames, private messages, unread counts, presence.

use socket_chat::protocol::{
    AckErrorCode, ChatMessage, Conversation, HandshakeAuth, HistoryPage, HistoryRequest, Identity, Presence, ReadMark,
    SentMessage, SessionState, Target, UnreadCount, UserInfo, events,
};
use socketio_browser::NoArgs;

use crate::support::{Client, TestServer, run, settle};

/// A client with the session of `identity`.
async fn as_user(server: &TestServer, identity: &Identity) -> Client {
    let auth = HandshakeAuth { session_id: Some(identity.session_id.clone()), ..HandshakeAuth::default() };
    Client::connect(server, Some(&auth)).await
}

/// A new user called `nickname`, and their first tab.
async fn sign_up(server: &TestServer, nickname: &str) -> (Identity, Client) {
    let client = Client::connect(server, None).await;
    let identity: Identity = client.request(events::USER_NICKNAME, &nickname).await.expect("a valid nickname");
    (identity, client)
}

#[test]
fn a_nickname_makes_a_session_that_later_connections_are_known_by() {
    run(|| async {
        let server = TestServer::start().await;
        let anonymous = Client::connect(&server, None).await;
        let state: SessionState = anonymous.event(events::SESSION, |_: &SessionState| true).await;
        assert_eq!(state.user, None, "no session given, nobody");
        let (ada, _first) = sign_up(&server, "  Ada ").await;
        assert_eq!(ada.user.nickname, "Ada");
        assert_ne!(ada.session_id, ada.user.user_id, "the secret is not the public id");
        // Everyone hears the new name.
        let renamed: UserInfo = anonymous.event(events::USER_RENAMED, |_: &UserInfo| true).await;
        assert_eq!(renamed, ada.user);
        let again = as_user(&server, &ada).await;
        let state: SessionState = again.event(events::SESSION, |_: &SessionState| true).await;
        assert_eq!(state.user, Some(ada.user.clone()));
        // A rename keeps the session and reaches everyone.
        let renamed: Identity = again.request(events::USER_NICKNAME, &"Ada L").await.unwrap();
        assert_eq!(
            (renamed.session_id.as_str(), renamed.user.user_id.as_str()),
            (ada.session_id.as_str(), ada.user.user_id.as_str())
        );
        anonymous.event(events::USER_RENAMED, |u: &UserInfo| u.nickname == "Ada L").await;
        // Bad names are refused with a reason; a made-up session is nobody.
        let refused = again.request::<_, Identity>(events::USER_NICKNAME, &"<script>").await.unwrap_err();
        assert_eq!(refused.code, AckErrorCode::InvalidArguments);
        let forged = HandshakeAuth { session_id: Some("0".repeat(32)), ..HandshakeAuth::default() };
        let stranger = Client::connect(&server, Some(&forged)).await;
        assert_eq!(stranger.event(events::SESSION, |_: &SessionState| true).await.user, None);
    });
}

#[test]
fn messages_carry_their_author() {
    run(|| async {
        let server = TestServer::start().await;
        let (ada, tab) = sign_up(&server, "Ada").await;
        let reader = Client::connect(&server, None).await;
        let _: SentMessage = tab.request(events::CHAT_MESSAGE, &("hello", "a-0")).await.unwrap();
        let _: SentMessage = reader.request(events::CHAT_MESSAGE, &("anon", "r-0")).await.unwrap();
        reader.wait_for(2).await;
        let authors: Vec<_> = reader.received.borrow().iter().map(|m| m.author.clone()).collect();
        assert_eq!(authors, [Some(ada.user.clone()), None]);
        let page: HistoryPage = reader.request(events::MESSAGES_HISTORY, &HistoryRequest::default()).await.unwrap();
        assert_eq!(page.messages[0].author, Some(ada.user), "stored with the message");
    });
}

#[test]
fn a_private_message_reaches_every_tab_of_its_two_users_and_nobody_else() {
    run(|| async {
        let server = TestServer::start().await;
        let (ada, ada_1) = sign_up(&server, "Ada").await;
        let ada_2 = as_user(&server, &ada).await;
        let (bob, bob_1) = sign_up(&server, "Bob").await;
        let (_eve, eve_1) = sign_up(&server, "Eve").await;
        let anonymous = Client::connect(&server, None).await;
        let sent: SentMessage =
            ada_1.request(events::CHAT_MESSAGE, &("psst", "a-0", Target::user(&bob.user.user_id))).await.unwrap();
        for tab in [&ada_1, &ada_2, &bob_1] {
            assert_eq!(tab.wait_for(1).await, ["psst"]);
        }
        let received: ChatMessage = bob_1.received.borrow()[0].clone();
        assert_eq!(received.user.as_deref(), Some(bob.user.user_id.as_str()));
        assert_eq!(received.conversation(Some(&bob.user.user_id)), Conversation::User(ada.user.user_id.clone()));
        settle().await;
        assert!(eve_1.texts().is_empty() && anonymous.texts().is_empty(), "nobody else receives it");
        // Nor reads it: not in everyone's history, not in another user's replay.
        let page: HistoryPage = eve_1.request(events::MESSAGES_HISTORY, &HistoryRequest::default()).await.unwrap();
        assert!(page.messages.is_empty());
        let asked = HistoryRequest { user: Some(ada.user.user_id.clone()), ..HistoryRequest::default() };
        let page: HistoryPage = eve_1.request(events::MESSAGES_HISTORY, &asked).await.unwrap();
        assert!(page.messages.is_empty(), "Eve has no conversation with Ada");
        let page: HistoryPage = bob_1.request(events::MESSAGES_HISTORY, &asked).await.unwrap();
        assert_eq!(page.messages[0].content, "psst");
        let replay = |identity: Option<&Identity>| HandshakeAuth {
            server_offset: Some(0),
            session_id: identity.map(|i| i.session_id.clone()),
            ..HandshakeAuth::default()
        };
        let bob_later = Client::connect(&server, Some(&replay(Some(&bob)))).await;
        assert_eq!(bob_later.wait_for(1).await, ["psst"], "replayed to its recipient");
        let anonymous_later = Client::connect(&server, Some(&replay(None))).await;
        settle().await;
        assert!(anonymous_later.texts().is_empty(), "never replayed to others");
        assert!(sent.server_offset > 0);
    });
}

#[test]
fn private_messages_need_a_sender_and_a_recipient_who_exist() {
    run(|| async {
        let server = TestServer::start().await;
        let (bob, _tab) = sign_up(&server, "Bob").await;
        let anonymous = Client::connect(&server, None).await;
        let to_bob = Target::user(&bob.user.user_id);
        let refused = anonymous.request::<_, SentMessage>(events::CHAT_MESSAGE, &("hi", "x-0", to_bob)).await;
        assert_eq!(refused.unwrap_err().code, AckErrorCode::NoSession);
        let (_ada, ada) = sign_up(&server, "Ada").await;
        let nobody = Target::user("f".repeat(32));
        let refused = ada.request::<_, SentMessage>(events::CHAT_MESSAGE, &("hi", "a-0", nobody)).await;
        assert_eq!(refused.unwrap_err().code, AckErrorCode::UnknownUser);
    });
}

#[test]
fn unread_counts_follow_the_read_marks_on_every_tab() {
    run(|| async {
        let server = TestServer::start().await;
        let (ada, ada_tab) = sign_up(&server, "Ada").await;
        let (bob, bob_1) = sign_up(&server, "Bob").await;
        let bob_2 = as_user(&server, &bob).await;
        for i in 0..3 {
            let _: SentMessage =
                ada_tab.request(events::CHAT_MESSAGE, &(format!("all {i}"), format!("a-{i}"))).await.unwrap();
        }
        let private = Target::user(&bob.user.user_id);
        let last: SentMessage = ada_tab.request(events::CHAT_MESSAGE, &("psst", "a-p", private)).await.unwrap();
        let count =
            |counts: &[UnreadCount], c: &Conversation| counts.iter().find(|u| u.conversation == *c).map(|u| u.count);
        let with_ada = Conversation::User(ada.user.user_id.clone());
        let counts: Vec<UnreadCount> = bob_1.request(events::UNREAD_LIST, &NoArgs).await.unwrap();
        assert_eq!(count(&counts, &Conversation::Everyone), Some(3));
        assert_eq!(count(&counts, &with_ada), Some(1));
        assert_eq!(
            counts.iter().find(|u| u.conversation == with_ada).and_then(|u| u.peer.clone()),
            Some(ada.user.clone())
        );
        // Ada's own messages are not unread for her.
        let counts: Vec<UnreadCount> = ada_tab.request(events::UNREAD_LIST, &NoArgs).await.unwrap();
        assert_eq!(count(&counts, &Conversation::Everyone), Some(0));
        // Bob reads in one tab: the other hears of it, and the counts agree.
        let mark = ReadMark { conversation: with_ada.clone(), offset: last.server_offset };
        let kept: ReadMark = bob_1.request(events::READ_MARK, &mark).await.unwrap();
        assert_eq!(kept, mark);
        let heard: ReadMark = bob_2.event(events::READ_MARKED, |_: &ReadMark| true).await;
        assert_eq!(heard, mark);
        let counts: Vec<UnreadCount> = bob_2.request(events::UNREAD_LIST, &NoArgs).await.unwrap();
        assert_eq!(count(&counts, &with_ada), Some(0));
        assert_eq!(count(&counts, &Conversation::Everyone), Some(3));
        // An anonymous socket has no counts, and says why.
        let anonymous = Client::connect(&server, None).await;
        let refused = anonymous.request::<_, Vec<UnreadCount>>(events::UNREAD_LIST, &NoArgs).await.unwrap_err();
        assert_eq!(refused.code, AckErrorCode::NoSession);
    });
}

#[test]
fn presence_counts_a_user_once_and_waits_a_grace_period_before_offline() {
    run(|| async {
        let server = TestServer::start_with(|config| config.presence_grace_ms = 700).await;
        let watcher = Client::connect(&server, None).await;
        let (ada, ada_1) = sign_up(&server, "Ada").await;
        let ada_2 = as_user(&server, &ada).await;
        let online = |p: &Presence| p.users.iter().filter(|u| u.user.nickname == "Ada").count();
        let snapshot: Presence = watcher.event(events::PRESENCE, |p: &Presence| online(p) == 1).await;
        assert_eq!(snapshot.users.len(), 1, "two tabs, one person: {snapshot:?}");
        // Rooms show in presence.
        let _: socket_chat::protocol::JoinedRoom = ada_2.request(events::ROOM_JOIN, &"rust").await.unwrap();
        watcher.event(events::PRESENCE, |p: &Presence| p.in_room(Some("rust")).any(|u| u.nickname == "Ada")).await;
        drop(ada_1);
        drop(ada_2);
        // A reload is not a departure: still online right after the last tab closed...
        settle().await;
        let before = watcher.count(events::PRESENCE);
        let latest: Presence = watcher.event(events::PRESENCE, |_: &Presence| true).await;
        assert_eq!(online(&latest), 1, "still online during the grace period");
        // ... and offline once it is over.
        let gone: Presence = watcher.event_since(before, events::PRESENCE, |p: &Presence| online(p) == 0).await;
        assert!(gone.users.is_empty());
    });
}
