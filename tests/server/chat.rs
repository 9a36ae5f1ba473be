//! `chat message`: acknowledged once stored, broadcast to everyone, stored once per client
//! offset, and refused with a clear error when malformed.

use serde_json::json;
use socket_chat::protocol::{AckErrorCode, AckReply, SentMessage, Target, events};

use crate::support::{Client, TestServer, run, settle};

#[test]
fn a_message_is_acknowledged_with_its_offset_and_reaches_everyone() {
    run(|| async {
        let server = TestServer::start().await;
        let alice = Client::connect(&server, None).await;
        let bob = Client::connect(&server, None).await;
        let sent: SentMessage = alice.request(events::CHAT_MESSAGE, &("hello", "a-0")).await.unwrap();
        assert!(!sent.duplicate);
        assert_eq!(bob.wait_for(1).await, ["hello"]);
        assert_eq!(alice.wait_for(1).await, ["hello"], "the sender gets the broadcast too");
        let got = bob.received.borrow()[0].clone();
        assert_eq!(got.server_offset, sent.server_offset);
        assert_eq!(got.client_offset.as_deref(), Some("a-0"));
    });
}

#[test]
fn a_retried_client_offset_is_stored_and_broadcast_once() {
    run(|| async {
        let server = TestServer::start().await;
        let alice = Client::connect(&server, None).await;
        let bob = Client::connect(&server, None).await;
        let first: SentMessage = alice.request(events::CHAT_MESSAGE, &("once", "k-1")).await.unwrap();
        let again: SentMessage = alice.request(events::CHAT_MESSAGE, &("once", "k-1")).await.unwrap();
        assert!(again.duplicate);
        assert_eq!(again.server_offset, first.server_offset);
        let next: SentMessage = alice.request(events::CHAT_MESSAGE, &("twice", "k-2")).await.unwrap();
        assert!(next.server_offset > first.server_offset);
        assert_eq!(bob.wait_for(2).await, ["once", "twice"]);
        settle().await;
        assert_eq!(bob.texts(), ["once", "twice"]);
    });
}

#[test]
fn malformed_messages_get_error_acks_and_are_not_stored() {
    run(|| async {
        let server = TestServer::start_with(|c| c.max_message_bytes = 10).await;
        let alice = Client::connect(&server, None).await;
        let bob = Client::connect(&server, None).await;
        let code = |reply: AckReply<SentMessage>| reply.into_result().expect_err("refused").code;
        let empty = alice.ask(events::CHAT_MESSAGE, &("   ", "k-1")).await;
        assert_eq!(code(empty), AckErrorCode::Empty);
        let long = alice.ask(events::CHAT_MESSAGE, &("ééééééé", "k-2")).await;
        assert_eq!(code(long), AckErrorCode::TooLong);
        let number = alice.ask(events::CHAT_MESSAGE, &(42, "k-3")).await;
        assert_eq!(code(number), AckErrorCode::InvalidArguments);
        let both = Target { to: Some("a".into()), except: Some("b".into()), user: None };
        let targeted = alice.ask(events::CHAT_MESSAGE, &("hi", "k-4", both)).await;
        assert_eq!(code(targeted), AckErrorCode::InvalidArguments);
        let unknown_key = alice.ask(events::CHAT_MESSAGE, &("hi", "k-5", json!({ "room": "r" }))).await;
        assert_eq!(code(unknown_key), AckErrorCode::InvalidArguments);
        // The server is still fine, and stored none of them.
        let ok: SentMessage = alice.request(events::CHAT_MESSAGE, &("fine", "k-6")).await.unwrap();
        assert_eq!(ok.server_offset, 1);
        assert_eq!(bob.wait_for(1).await, ["fine"]);
    });
}
