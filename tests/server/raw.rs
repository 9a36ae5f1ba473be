//! A hostile peer: raw Engine.IO / Socket.IO frames over tokio-tungstenite, with nothing of
//! a client's good manners (it sends whatever the test writes, exactly).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{PATIENCE, TestServer};

/// What the server did with a frame.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// It answered the ack id with these arguments.
    Ack(Value),
    /// It closed the connection.
    Closed,
}

/// One raw Engine.IO connection over a WebSocket.
pub struct Raw {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Raw {
    /// Opens the WebSocket and reads Engine.IO's open packet.
    pub async fn open(server: &TestServer) -> Self {
        Self::open_with(server, None).await.expect("the WebSocket opens")
    }

    /// Opens the WebSocket with an `Origin` header; the HTTP status when refused.
    pub async fn open_with(server: &TestServer, origin: Option<&str>) -> Result<Self, u16> {
        let mut request = server.url().into_client_request().expect("a request");
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse().expect("a header value"));
        }
        let ws = match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => ws,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => return Err(response.status().as_u16()),
            Err(e) => panic!("cannot open the WebSocket: {e}"),
        };
        let mut raw = Self { ws };
        let open = raw.next_text().await.expect("the open packet");
        assert!(open.starts_with("0{"), "Engine.IO's open packet first: {open}");
        Ok(raw)
    }

    /// Opens and joins the namespace `/`.
    pub async fn connected(server: &TestServer) -> Self {
        let mut raw = Self::open(server).await;
        raw.send("40").await;
        let answer = raw.next_text().await.expect("a CONNECT answer");
        assert!(answer.starts_with("40{"), "CONNECT accepted: {answer}");
        raw
    }

    /// Sends one text frame.
    pub async fn send(&mut self, text: &str) {
        // A send to a connection the server closed fails; the next read tells the test so.
        let _ = self.ws.send(Message::text(text)).await;
    }

    /// Sends one binary frame.
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        let _ = self.ws.send(Message::binary(bytes.to_vec())).await;
    }

    /// Sends a text frame whose payload is `bytes` as they are (invalid UTF-8 included).
    pub async fn send_raw_text(&mut self, bytes: &[u8]) {
        let frame = Frame::message(bytes.to_vec(), OpCode::Data(Data::Text), true);
        let _ = self.ws.send(Message::Frame(frame)).await;
    }

    /// The next text frame, answering pings; `None` once the connection is closed.
    pub async fn next_text(&mut self) -> Option<String> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.ws.next()).await.expect("a frame or a close in time");
            match message {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => self.send("3").await,
                Some(Ok(Message::Text(text))) => return Some(text.as_str().to_owned()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Waits for the ack of `id` on `/`, or for the connection to close.
    pub async fn outcome(&mut self, id: u64) -> Outcome {
        let prefix = format!("43{id}");
        while let Some(text) = self.next_text().await {
            if let Some(args) = text.strip_prefix(&prefix) {
                let args: Value = serde_json::from_str(args).expect("the ack's arguments are JSON");
                return Outcome::Ack(args[0].clone());
            }
        }
        Outcome::Closed
    }

    /// Whether the server answers a well-formed request on this connection (it is not stuck).
    pub async fn still_serves(&mut self) -> bool {
        self.send("4290[\"rooms:list\"]").await;
        matches!(self.outcome(90).await, Outcome::Ack(reply) if reply["status"] == "ok")
    }

    /// Leaves `/` as socket.io-client's `disconnect()` does: a DISCONNECT packet, then the
    /// transport closed at once (both frames in one write, so that the server reads them
    /// together).
    pub async fn disconnect_and_close(mut self) {
        let _ = self.ws.feed(Message::text("41")).await;
        let _ = self.ws.close(None).await;
    }

    /// Whether the server closes this connection within `wait` (reading what it sends).
    pub async fn closes_within(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, async { while self.next_text().await.is_some() {} }).await.is_ok()
    }
}

/// The error code of an error ack.
pub fn error_code(outcome: &Outcome) -> Option<&str> {
    match outcome {
        Outcome::Ack(reply) if reply["status"] == "error" => reply["error"]["code"].as_str(),
        _ => None,
    }
}
