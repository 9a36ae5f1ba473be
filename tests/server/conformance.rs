//! Conformance mode (`--conformance`, src/server/conformance.rs): what the official
//! Socket.IO protocol test suite checks, on a real server and raw connections, so that it
//! is held without GitHub (`scripts/conformance.sh` runs the suite itself).
//!
//! Frames are compared as text, byte for byte, as the suite compares them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{PATIENCE, run};

/// A conformance-mode server on a port the OS picks.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            socket_chat::server::conformance::serve(listener, shutdown).await.expect("the server runs");
        });
        Self { addr, stop: Some(stop), task }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// What the server sent.
#[derive(Debug, PartialEq)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// The session closed (Engine.IO's close packet, or the WebSocket's end).
    Closed,
}

fn text(s: &str) -> Frame {
    Frame::Text(s.to_owned())
}

/// One raw WebSocket to the server, as the suite opens them.
struct Ws {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Answer pings with pongs (the suite mostly does not).
    pong: bool,
}

impl Ws {
    /// Opens `/socket.io/?EIO=4&transport=websocket`; returns it and its open packet's JSON.
    async fn open(server: &Server) -> (Self, Value) {
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", server.addr);
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("the WebSocket opens");
        let mut ws = Self { ws, pong: true };
        let Frame::Text(open) = ws.next().await else { panic!("an open packet") };
        let handshake = serde_json::from_str(open.strip_prefix('0').expect("Engine.IO's open packet first"))
            .expect("the handshake is JSON");
        (ws, handshake)
    }

    /// Opens and joins `/` (the suite's `initSocketIOConnection`), reading the CONNECT
    /// answer and the `auth` event.
    async fn connected(server: &Server) -> Self {
        let (mut ws, _) = Self::open(server).await;
        ws.send("40").await;
        let Frame::Text(answer) = ws.next().await else { panic!("a CONNECT answer") };
        assert!(answer.starts_with("40{"), "{answer}");
        assert_eq!(ws.next().await, text(r#"42["auth",{}]"#));
        ws
    }

    async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("the frame is sent");
    }

    async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws.send(Message::binary(bytes.to_vec())).await.expect("the frame is sent");
    }

    /// The next frame that is not a ping (answered when `pong`), within [`PATIENCE`]: pings
    /// keep coming, so each read's own deadline would never run out.
    async fn next(&mut self) -> Frame {
        let next = async {
            loop {
                match self.next_raw().await {
                    Frame::Text(ping) if ping == "2" => {
                        if self.pong {
                            self.send("3").await;
                        }
                    }
                    frame => return frame,
                }
            }
        };
        tokio::time::timeout(PATIENCE, next).await.expect("a frame other than a ping in time")
    }

    /// The next frame, pings included, unanswered.
    async fn next_raw(&mut self) -> Frame {
        let message = tokio::time::timeout(PATIENCE, self.ws.next()).await.expect("a frame or a close in time");
        match message {
            // Engine.IO's close packet: the server closes the session (the close frame follows).
            Some(Ok(Message::Text(text))) if text.as_str() == "1" => Frame::Closed,
            Some(Ok(Message::Text(text))) => Frame::Text(text.as_str().to_owned()),
            Some(Ok(Message::Binary(bytes))) => Frame::Binary(bytes.to_vec()),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Frame::Closed,
            Some(Ok(other)) => panic!("an unexpected frame: {other:?}"),
        }
    }

    /// The frames (pings answered and left out) sent within `wait`.
    async fn frames_within(&mut self, wait: Duration) -> Vec<Frame> {
        let mut frames = Vec::new();
        let _ = tokio::time::timeout(wait, async {
            loop {
                let frame = self.next().await;
                let closed = frame == Frame::Closed;
                frames.push(frame);
                if closed {
                    return;
                }
            }
        })
        .await;
        frames
    }
}

/// `GET /socket.io/?EIO=4&transport=polling` over a plain TCP connection: the handshake.
async fn polling_handshake(server: &Server) -> Value {
    let mut stream = TcpStream::connect(server.addr).await.expect("a TCP connection");
    let request = format!(
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.expect("the request is sent");
    let mut response = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut response)).await.expect("in time").expect("a response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = &response[response.find("\r\n\r\n").expect("a body") + 4..];
    let open = &body[body.find("0{").expect("an open packet") + 1..];
    serde_json::Deserializer::from_str(open).into_iter::<Value>().next().expect("a handshake").expect("JSON")
}

#[test]
fn the_handshake_announces_the_suites_timings_and_payload() {
    run(|| async {
        let server = Server::start().await;
        let (_ws, handshake) = Ws::open(&server).await;
        let polling = polling_handshake(&server).await;
        for (handshake, upgrades) in [(handshake, serde_json::json!([])), (polling, serde_json::json!(["websocket"]))] {
            assert_eq!(handshake["pingInterval"], 300, "{handshake}");
            assert_eq!(handshake["pingTimeout"], 200, "{handshake}");
            assert_eq!(handshake["maxPayload"], 1_000_000, "{handshake}");
            assert_eq!(handshake["upgrades"], upgrades, "{handshake}");
            assert!(handshake["sid"].is_string(), "{handshake}");
        }
        server.stop().await;
    });
}

#[test]
fn the_handshake_auth_comes_back_on_main_and_custom() {
    run(|| async {
        let server = Server::start().await;
        for (connect, answer, auth) in [
            ("40", "40{", r#"42["auth",{}]"#),
            (r#"40{"token":"123"}"#, "40{", r#"42["auth",{"token":"123"}]"#),
            // Keys in the order they came (a sorted map would put "a" first).
            (r#"40{"z":1,"a":[true,null]}"#, "40{", r#"42["auth",{"z":1,"a":[true,null]}]"#),
            ("40/custom,", "40/custom,{", r#"42/custom,["auth",{}]"#),
            (r#"40/custom,{"token":"abc"}"#, "40/custom,{", r#"42/custom,["auth",{"token":"abc"}]"#),
        ] {
            let (mut ws, _) = Ws::open(&server).await;
            ws.send(connect).await;
            let Frame::Text(connected) = ws.next().await else { panic!("a CONNECT answer to {connect}") };
            assert!(connected.starts_with(answer), "{connect}: {connected}");
            assert_eq!(ws.next().await, text(auth), "{connect}");
            // Nothing else: none of the chat's events (replay, presence...).
            assert_eq!(ws.frames_within(Duration::from_millis(400)).await, vec![], "{connect}");
        }
        let (mut ws, _) = Ws::open(&server).await;
        ws.send("40/random,").await;
        assert_eq!(ws.next().await, text(r#"44/random,{"message":"Invalid namespace"}"#));
        server.stop().await;
    });
}

#[test]
fn a_message_comes_back_with_the_same_arguments_binary_included() {
    run(|| async {
        let server = Server::start().await;
        let mut ws = Ws::connected(&server).await;
        ws.send(r#"42["message",1,"2",{"3":[true]},{"z":null,"a":[-1.5,"\u00e9\"\n"]}]"#).await;
        assert_eq!(ws.next().await, text(r#"42["message-back",1,"2",{"3":[true]},{"z":null,"a":[-1.5,"é\"\n"]}]"#));
        ws.send(r#"42["message"]"#).await;
        assert_eq!(ws.next().await, text(r#"42["message-back"]"#));

        ws.send(r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#).await;
        ws.send_binary(&[1, 2, 3]).await;
        ws.send_binary(&[4, 5, 6]).await;
        assert_eq!(
            ws.next().await,
            text(r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        );
        assert_eq!(ws.next().await, Frame::Binary(vec![1, 2, 3]));
        assert_eq!(ws.next().await, Frame::Binary(vec![4, 5, 6]));
        server.stop().await;
    });
}

#[test]
fn a_message_with_ack_is_acknowledged_with_the_same_arguments() {
    run(|| async {
        let server = Server::start().await;
        let mut ws = Ws::connected(&server).await;
        ws.send(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#).await;
        assert_eq!(ws.next().await, text(r#"43456[1,"2",{"3":[false]}]"#));

        ws.send(r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#).await;
        ws.send_binary(&[1, 2, 3]).await;
        ws.send_binary(&[4, 5, 6]).await;
        assert_eq!(ws.next().await, text(r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#));
        assert_eq!(ws.next().await, Frame::Binary(vec![1, 2, 3]));
        assert_eq!(ws.next().await, Frame::Binary(vec![4, 5, 6]));
        // Malformed packets close the connection (the suite's last three tests).
        ws.send(r#"42abc["message-with-ack",1]"#).await;
        assert_eq!(ws.next().await, Frame::Closed);
        server.stop().await;
    });
}

#[test]
fn pings_come_every_300_ms_and_silent_clients_are_dropped() {
    run(|| async {
        let server = Server::start().await;
        // The first ping one pingInterval after the handshake, not at once (engine.io's order:
        // the suite reads the CONNECT answer right after the open packet).
        let opened = Instant::now();
        let (mut ws, _) = Ws::open(&server).await;
        ws.send("40").await;
        assert!(matches!(ws.next_raw().await, Frame::Text(t) if t.starts_with("40{")));
        assert_eq!(ws.next_raw().await, text(r#"42["auth",{}]"#));
        assert_eq!(ws.next_raw().await, text("2"));
        let first_ping = opened.elapsed();
        assert!(first_ping >= Duration::from_millis(250), "the first ping came after {first_ping:?}");
        // Not answered: dropped after pingTimeout.
        assert_eq!(ws.next_raw().await, Frame::Closed);
        let closed = opened.elapsed();
        assert!(closed >= Duration::from_millis(450), "dropped after {closed:?}");

        // Pings answered but no CONNECT: dropped after connectTimeout (1 s).
        let opened = Instant::now();
        let (mut ws, _) = Ws::open(&server).await;
        assert_eq!(ws.next().await, Frame::Closed);
        let closed = opened.elapsed();
        assert!(closed >= Duration::from_millis(900), "dropped after {closed:?}, before the connect timeout");
        server.stop().await;
    });
}
