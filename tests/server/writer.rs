//! The writer's go-live race: a socket's CONNECT is answered before the socket joins the
//! live audience (that happens in the writer, after its replay). A message stored in
//! between must still reach it, once.

use std::time::Duration;

use socket_chat::protocol::{SentMessage, events};
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
