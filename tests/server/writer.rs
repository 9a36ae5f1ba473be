//! The writer's go-live race: a socket's CONNECT is answered before the socket joins the
//! live audience (that happens in the writer, after its replay). A message stored in
//! between must still reach it, once.

use std::time::Duration;

use socket_chat::protocol::{HandshakeAuth, SentMessage, events};
use sqlx::Connection;

use crate::support::{Client, TestServer, run, settle};

#[test]
fn a_message_stored_between_connect_and_going_live_arrives_once() {
    run(|| async {
        let server = TestServer::start().await;
        let sender = Client::connect(&server, None).await;

        // Hold SQLite's write lock from outside, so the writer blocks in its next commit.
        let url = format!("sqlite://{}", server.database.display());
        let mut blocker = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();

        // The writer takes this message and waits for the lock…
        let (tx, stored) = tokio::sync::oneshot::channel();
        sender
            .socket
            .timeout(10_000)
            .emit_with_callback(events::CHAT_MESSAGE, &("in between", "s-0"), move |answer| {
                let _ = tx.send(answer);
            })
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // …while a new client connects: its CONNECT is answered at once, and its going
        // live waits in the writer's queue behind that message.
        let late = Client::connect(&server, None).await;
        sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();

        let sent: SentMessage = stored
            .await
            .unwrap()
            .unwrap()
            .decode::<socket_chat::protocol::AckReply<SentMessage>>()
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!(late.wait_for(1).await, ["in between"]);
        settle().await;
        assert_eq!(late.received.borrow().len(), 1, "once, not twice");
        assert_eq!(late.received.borrow()[0].server_offset, sent.server_offset);
    });
}

/// When the writer cannot catch a socket up (here the store fails), the socket must not be
/// sent a DISCONNECT: a Socket.IO client told "io server disconnect" never reconnects, so it
/// would stay offline for good. It stays connected and is caught up once the store is back.
#[test]
fn a_failed_catch_up_keeps_the_socket_and_catches_it_up_later() {
    run(|| async {
        let server = TestServer::start().await;
        let sender = Client::connect(&server, None).await;
        for (text, key) in [("one", "k-1"), ("two", "k-2")] {
            let _: SentMessage = sender.request(events::CHAT_MESSAGE, &(text, key)).await.unwrap();
        }

        // The store fails: its table is gone for a while.
        let url = format!("sqlite://{}", server.database.display());
        let mut outside = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("ALTER TABLE messages RENAME TO messages_away").execute(&mut outside).await.unwrap();

        let auth = HandshakeAuth { server_offset: Some(0), ..HandshakeAuth::default() };
        let back = Client::connect(&server, Some(&auth)).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(
            back.socket.state().is_connected(),
            "the server must not disconnect a socket it could not catch up: {:?}",
            back.socket.state()
        );

        sqlx::query("ALTER TABLE messages_away RENAME TO messages").execute(&mut outside).await.unwrap();
        assert_eq!(back.wait_for(2).await, ["one", "two"]);
        // And live from then on, once.
        let _: SentMessage = sender.request(events::CHAT_MESSAGE, &("three", "k-3")).await.unwrap();
        assert_eq!(back.wait_for(3).await, ["one", "two", "three"]);
        settle().await;
        assert_eq!(back.texts(), ["one", "two", "three"]);
    });
}
