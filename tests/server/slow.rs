//! Slow readers: a socket that reads slower than the chat goes cannot make the server queue
//! without bound, and loses nothing; one that does not read at all is dropped; nobody else
//! notices either.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use socket_chat::protocol::{SentMessage, events};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Client, PATIENCE, TestServer, run};

/// A WebSocket whose receive window is tiny, so that what it does not read piles up in the
/// server's queue rather than in the kernel's buffers.
async fn narrow_socket(server: &TestServer) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let tcp = TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(server.addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(server.url(), stream).await.expect("the WebSocket opens");
    let open = ws.next().await.unwrap().unwrap();
    assert!(open.to_text().unwrap().starts_with("0{"));
    ws.send(Message::text("40")).await.unwrap();
    ws
}

/// Every `chat message` offset in `frames`, in order, answering nothing.
fn offsets(text: &str) -> Option<i64> {
    let data = text.strip_prefix("42")?;
    let args: Value = serde_json::from_str(data).ok()?;
    (args[0] == events::CHAT_MESSAGE).then(|| args[2].as_i64()).flatten()
}

/// `count` messages of about 3 KB, one after another (each acknowledged).
async fn chat(sender: &Client, count: usize) {
    let filler = "x".repeat(3000);
    for n in 0..count {
        let sent: SentMessage =
            sender.request(events::CHAT_MESSAGE, &(format!("{n} {filler}"), format!("s-{n}"))).await.unwrap();
        assert!(sent.server_offset > 0);
    }
}

#[test]
fn a_slow_reader_is_caught_up_without_a_gap_and_others_are_unaffected() {
    run(|| async {
        const COUNT: usize = 2500;
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("socket_chat=debug,socketioxide=warn")
            .try_init();
        let server = TestServer::start_with(|c| {
            c.max_queued_packets = 64;
            // No ping while it is not reading: this test is about the queue, not the heartbeat.
            c.ping_interval_ms = 120_000;
            c.socket_events_per_second = 0;
            c.ip_events_per_second = 0;
        })
        .await;
        let mut slow = narrow_socket(&server).await;
        let bystander = Client::connect(&server, None).await;
        let sender = Client::connect(&server, None).await;
        // The slow socket reads nothing while the chat goes on: its queue fills up.
        chat(&sender, COUNT).await;
        eprintln!("sent");
        assert_eq!(bystander.wait_for(COUNT).await.len(), COUNT, "the bystander got everything");
        eprintln!("bystander done");
        // Then it reads: every message, once, in order, none skipped.
        let mut seen = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), async {
            while seen.len() < COUNT {
                match slow.next().await {
                    Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                        slow.send(Message::text("3")).await.unwrap()
                    }
                    Some(Ok(Message::Text(text))) => seen.extend(offsets(text.as_str())),
                    Some(Ok(_)) => {}
                    other => panic!("the slow socket was closed after {} messages: {other:?}", seen.len()),
                }
            }
        })
        .await;
        let expected: Vec<i64> = (1..=COUNT as i64).collect();
        let first_wrong = seen.iter().zip(&expected).position(|(a, b)| a != b);
        assert!(
            seen.len() == COUNT && first_wrong.is_none(),
            "every message once, in order: got {} messages, first out of order at {first_wrong:?}, last {:?}",
            seen.len(),
            seen.last()
        );
    });
}

#[test]
fn a_socket_that_never_reads_is_dropped() {
    run(|| async {
        let server = TestServer::start_with(|c| {
            c.max_queued_packets = 64;
            c.ping_interval_ms = 300;
            c.ping_timeout_ms = 300;
            c.socket_events_per_second = 0;
            c.ip_events_per_second = 0;
        })
        .await;
        let mut mute = narrow_socket(&server).await;
        let bystander = Client::connect(&server, None).await;
        let sender = Client::connect(&server, None).await;
        chat(&sender, 300).await;
        assert_eq!(bystander.wait_for(300).await.len(), 300);
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Its connection ends (after what the kernel had buffered), without it ever answering.
        let closed = tokio::time::timeout(PATIENCE, async {
            loop {
                match mute.next().await {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the server dropped the socket that never read");
        // The others chat on.
        let sent: SentMessage = sender.request(events::CHAT_MESSAGE, &("after", "s-after")).await.unwrap();
        assert!(sent.server_offset > 300);
    });
}
