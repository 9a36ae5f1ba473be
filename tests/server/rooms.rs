//! Rooms: join and leave with live member counts, `io.to(room)` and `io.except(room)`.

use socket_chat::protocol::{AckErrorCode, Identity, JoinedRoom, RoomInfo, SentMessage, Target, events};
use socketio_browser::NoArgs;

use crate::raw::{Outcome, Raw};
use crate::support::{Client, TestServer, run, settle};

fn to(room: &str) -> Target {
    Target::room(room)
}

fn except(room: &str) -> Target {
    Target::all_but(room)
}

#[test]
fn members_are_counted_as_they_join_and_leave() {
    run(|| async {
        let server = TestServer::start().await;
        let alice = Client::connect(&server, None).await;
        let bob = Client::connect(&server, None).await;
        let joined: JoinedRoom = alice.request(events::ROOM_JOIN, &"  rust ").await.unwrap();
        assert_eq!((joined.room.as_str(), joined.members), ("rust", 1));
        let joined: JoinedRoom = bob.request(events::ROOM_JOIN, &"rust").await.unwrap();
        assert_eq!(joined.members, 2);
        let rooms: Vec<RoomInfo> = alice.request(events::ROOMS_LIST, &NoArgs).await.unwrap();
        assert_eq!(rooms, [RoomInfo { name: "rust".into(), members: 2 }]);
        let left: RoomInfo = bob.request(events::ROOM_LEAVE, &"rust").await.unwrap();
        assert_eq!(left.members, 1);
        drop(alice);
        settle().await;
        let rooms: Vec<RoomInfo> = bob.request(events::ROOMS_LIST, &NoArgs).await.unwrap();
        assert!(rooms.is_empty(), "a room nobody is in is not listed: {rooms:?}");
    });
}

#[test]
fn a_client_that_disconnects_leaves_its_rooms_in_everyone_s_counts() {
    // socket.io-client's `disconnect()`: DISCONNECT, then the transport closed right away.
    // The transport's close takes the socket out of its rooms at once, while the disconnect
    // handler may still be telling the others that the user is online in another tab; the
    // handler must still announce the rooms the socket was in.
    run(|| async {
        let server = TestServer::start().await;
        let bob = Client::connect(&server, None).await;
        let ada = Client::connect(&server, None).await;
        let identity: Identity = ada.request(events::USER_NICKNAME, &"Ada").await.expect("a valid nickname");
        for round in 0..3 {
            let room = format!("go{round}");
            // Ada's second tab, raw, in the room.
            let mut tab = Raw::open(&server).await;
            tab.send(&format!("40{{\"sessionId\":\"{}\"}}", identity.session_id)).await;
            let answer = tab.next_text().await.expect("a CONNECT answer");
            assert!(answer.starts_with("40{"), "CONNECT accepted: {answer}");
            tab.send(&format!("421[\"room:join\",\"{room}\"]")).await;
            assert!(matches!(tab.outcome(1).await, Outcome::Ack(reply) if reply["status"] == "ok"));
            bob.event::<Vec<RoomInfo>>(events::ROOMS_UPDATED, |rooms| rooms.iter().any(|r| r.name == room)).await;
            let before = bob.count(events::ROOMS_UPDATED);
            tab.disconnect_and_close().await;
            // A list sent after the departure: the room is gone from it.
            let gone = |rooms: &Vec<RoomInfo>| rooms.iter().all(|r| r.name != room);
            bob.event_since::<Vec<RoomInfo>>(before, events::ROOMS_UPDATED, gone).await;
        }
    });
}

#[test]
fn to_reaches_the_members_only_and_except_everyone_else() {
    run(|| async {
        let server = TestServer::start().await;
        let member = Client::connect(&server, None).await;
        let other = Client::connect(&server, None).await;
        let _: JoinedRoom = member.request(events::ROOM_JOIN, &"rust").await.unwrap();
        let _: SentMessage = member.request(events::CHAT_MESSAGE, &("to rust", "m-0", to("rust"))).await.unwrap();
        let _: SentMessage = member.request(events::CHAT_MESSAGE, &("but rust", "m-1", except("rust"))).await.unwrap();
        let _: SentMessage = member.request(events::CHAT_MESSAGE, &("all", "m-2")).await.unwrap();
        assert_eq!(member.wait_for(2).await, ["to rust", "all"]);
        assert_eq!(other.wait_for(2).await, ["but rust", "all"]);
        settle().await;
        assert_eq!(member.texts(), ["to rust", "all"]);
        assert_eq!(other.texts(), ["but rust", "all"]);
    });
}

#[test]
fn sending_to_a_room_one_is_not_in_or_naming_a_bad_room_is_refused() {
    run(|| async {
        let server = TestServer::start().await;
        let outsider = Client::connect(&server, None).await;
        let refused = outsider.request::<_, SentMessage>(events::CHAT_MESSAGE, &("hi", "o-0", to("rust"))).await;
        assert_eq!(refused.unwrap_err().code, AckErrorCode::NotAMember);
        let blank = outsider.request::<_, JoinedRoom>(events::ROOM_JOIN, &"   ").await;
        assert_eq!(blank.unwrap_err().code, AckErrorCode::InvalidArguments);
        let not_a_string = outsider.request::<_, JoinedRoom>(events::ROOM_JOIN, &42).await;
        assert_eq!(not_a_string.unwrap_err().code, AckErrorCode::InvalidArguments);
    });
}

/// Many joins at once: everyone hears the final counts, in far fewer room lists than joins
/// (one list to every socket per join would cost n² messages for n sockets).
#[test]
fn room_lists_are_sent_at_most_every_interval_and_end_with_the_latest_counts() {
    run(|| async {
        let server = TestServer::start().await;
        let observer = Client::connect(&server, None).await;
        const JOINERS: usize = 30;
        let mut joiners = Vec::new();
        for _ in 0..JOINERS {
            joiners.push(Client::connect(&server, None).await);
        }
        let since = observer.count(events::ROOMS_UPDATED);
        let joins = joiners.iter().map(|c| c.request::<_, JoinedRoom>(events::ROOM_JOIN, &"rust"));
        for joined in futures_util::future::join_all(joins).await {
            joined.expect("joined");
        }
        let all_in = |(rooms,): &(Vec<RoomInfo>,)| rooms == &[RoomInfo { name: "rust".into(), members: JOINERS }];
        observer.event_since(since, events::ROOMS_UPDATED, all_in).await;
        settle().await;
        let lists = observer.count(events::ROOMS_UPDATED) - since;
        assert!(lists <= JOINERS / 3, "{lists} room lists for {JOINERS} joins");
    });
}
