//! Stopping the server: what a restart or a deploy waits for.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{PATIENCE, TestServer, run, settle};

/// Sends a plain HTTP/1.1 `GET path` on a connection of its own.
async fn get(server: &TestServer, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.expect("a TCP connection");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr);
    stream.write_all(request.as_bytes()).await.expect("the request is sent");
    stream
}

/// A client that opens an Engine.IO session and long-polls it without ever joining a
/// namespace (a client reconnecting while the server stops is one) must not hold the stop:
/// Socket.IO's close does not know such a session, and its long-poll would otherwise last
/// until the next ping, 25 s later.
#[test]
fn a_long_poll_outside_any_namespace_does_not_hold_the_stop() {
    run(|| async {
        let server = TestServer::start().await;
        let mut handshake = get(&server, "/socket.io/?EIO=4&transport=polling").await;
        let mut response = String::new();
        tokio::time::timeout(PATIENCE, handshake.read_to_string(&mut response)).await.expect("in time").unwrap();
        let sid = response.split("\"sid\":\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a session id");
        // Nothing is queued for the session: the server holds this request open.
        let _poll = get(&server, &format!("/socket.io/?EIO=4&transport=polling&sid={sid}")).await;
        settle().await;

        let stopping = Instant::now();
        server.stop().await;
        let took = stopping.elapsed();
        assert!(took < Duration::from_secs(5), "the stop waited {took:?} for the long-poll");
    });
}
