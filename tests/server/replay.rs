//! Server delivery: a client back with the last offset it saw gets what it missed, in
//! order, only what it may see, across a server restart.

use socket_chat::protocol::{HandshakeAuth, JoinedRoom, SentMessage, Target, events};

use crate::support::{Client, TestServer, run, settle};

fn auth(offset: i64, rooms: &[&str]) -> HandshakeAuth {
    HandshakeAuth {
        server_offset: Some(offset),
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
        session_id: None,
    }
}

#[test]
fn a_client_back_gets_what_it_missed_in_its_rooms_in_order() {
    run(|| async {
        let server = TestServer::start().await;
        let sender = Client::connect(&server, None).await;
        let _: JoinedRoom = sender.request(events::ROOM_JOIN, &"rust").await.unwrap();
        let _: JoinedRoom = sender.request(events::ROOM_JOIN, &"go").await.unwrap();
        let first: SentMessage = sender.request(events::CHAT_MESSAGE, &("seen", "s-0")).await.unwrap();
        let to = |room: &str| Target::room(room);
        let except = |room: &str| Target::all_but(room);
        let _: SentMessage = sender.request(events::CHAT_MESSAGE, &("missed 1", "s-1")).await.unwrap();
        let _: SentMessage = sender.request(events::CHAT_MESSAGE, &("in rust", "s-2", to("rust"))).await.unwrap();
        let _: SentMessage = sender.request(events::CHAT_MESSAGE, &("in go", "s-3", to("go"))).await.unwrap();
        let _: SentMessage =
            sender.request(events::CHAT_MESSAGE, &("not for rust", "s-4", except("rust"))).await.unwrap();
        let _: SentMessage = sender.request(events::CHAT_MESSAGE, &("missed 2", "s-5")).await.unwrap();

        let back = Client::connect(&server, Some(&auth(first.server_offset, &["rust"]))).await;
        assert_eq!(back.wait_for(3).await, ["missed 1", "in rust", "missed 2"]);
        // Live again, in its room, after the replay.
        let _: SentMessage = sender.request(events::CHAT_MESSAGE, &("live", "s-6", to("rust"))).await.unwrap();
        assert_eq!(back.wait_for(4).await, ["missed 1", "in rust", "missed 2", "live"]);
        settle().await;
        assert_eq!(back.texts().len(), 4, "nothing twice: {:?}", back.texts());
    });
}

#[test]
fn offsets_and_replay_survive_a_restart() {
    run(|| async {
        let server = TestServer::start().await;
        let alice = Client::connect(&server, None).await;
        let before: SentMessage = alice.request(events::CHAT_MESSAGE, &("before", "a-0")).await.unwrap();
        let _: SentMessage = alice.request(events::CHAT_MESSAGE, &("missed", "a-1")).await.unwrap();
        drop(alice);
        let database = server.stop().await;

        let server = TestServer::start_on(database, |_| {}).await;
        let back = Client::connect(&server, Some(&auth(before.server_offset, &[]))).await;
        assert_eq!(back.wait_for(1).await, ["missed"]);
        let after: SentMessage = back.request(events::CHAT_MESSAGE, &("after", "a-2")).await.unwrap();
        assert_eq!(after.server_offset, before.server_offset + 2, "offsets go on where they were");
        let retried: SentMessage = back.request(events::CHAT_MESSAGE, &("missed", "a-1")).await.unwrap();
        assert!(retried.duplicate, "client offsets are remembered across a restart");
    });
}
