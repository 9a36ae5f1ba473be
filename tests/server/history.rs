//! `messages:history` and the history of `room:join`: pages of the configured size, oldest
//! first, cursor by offset, with `complete` on the last one.

use socket_chat::protocol::{AckErrorCode, HistoryPage, HistoryRequest, JoinedRoom, SentMessage, Target, events};

use crate::support::{Client, TestServer, run};

#[test]
fn pages_follow_the_configured_size_until_complete_with_no_gap() {
    run(|| async {
        let server = TestServer::start_with(|c| c.history_page_size = 7).await;
        let alice = Client::connect(&server, None).await;
        for i in 0..17 {
            let _: SentMessage =
                alice.request(events::CHAT_MESSAGE, &(format!("m{i}"), format!("a-{i}"))).await.unwrap();
        }
        let mut before = None;
        let mut pages = Vec::new();
        loop {
            let request = HistoryRequest { before, ..HistoryRequest::default() };
            let page: HistoryPage = alice.request(events::MESSAGES_HISTORY, &request).await.unwrap();
            before = page.messages.first().map(|m| m.server_offset);
            pages.push(page.messages.iter().map(|m| m.content.clone()).collect::<Vec<_>>());
            if page.complete {
                break;
            }
        }
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 3]);
        let all: Vec<String> = pages.into_iter().rev().flatten().collect();
        assert_eq!(all, (0..17).map(|i| format!("m{i}")).collect::<Vec<_>>());
        let limited = HistoryRequest { limit: Some(2), ..HistoryRequest::default() };
        let page: HistoryPage = alice.request(events::MESSAGES_HISTORY, &limited).await.unwrap();
        assert_eq!(page.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["m15", "m16"]);
    });
}

#[test]
fn a_rooms_history_comes_with_the_join_and_only_to_members() {
    run(|| async {
        let server = TestServer::start_with(|c| c.history_page_size = 2).await;
        let alice = Client::connect(&server, None).await;
        let _: JoinedRoom = alice.request(events::ROOM_JOIN, &"rust").await.unwrap();
        let to_rust = Target::room("rust");
        for i in 0..3 {
            let _: SentMessage =
                alice.request(events::CHAT_MESSAGE, &(format!("r{i}"), format!("a-{i}"), &to_rust)).await.unwrap();
        }
        let bob = Client::connect(&server, None).await;
        let asked = HistoryRequest { room: Some("rust".into()), ..HistoryRequest::default() };
        let refused = bob.request::<_, HistoryPage>(events::MESSAGES_HISTORY, &asked).await;
        assert_eq!(refused.unwrap_err().code, AckErrorCode::NotAMember);
        let joined: JoinedRoom = bob.request(events::ROOM_JOIN, &"rust").await.unwrap();
        let texts: Vec<&str> = joined.history.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!((texts, joined.history.complete), (vec!["r1", "r2"], false));
        let everyone: HistoryPage = bob.request(events::MESSAGES_HISTORY, &HistoryRequest::default()).await.unwrap();
        assert!(everyone.messages.is_empty() && everyone.complete, "room messages stay in their room");
    });
}
