//! The floor: a minimal Socket.IO broadcaster, the measuring stick of the benchmark.
//!
//! Why it is written by hand, against the house rule of crates over hand-written code: it is
//! not a product but the least work a server can do for the benchmark's load, so the report
//! can say how far a real server is from what this machine allows. Every chat message is
//! encoded ONCE into one shared WebSocket frame, written to every socket with one
//! non-blocking `write` from the task that read the message (no queue, no task woken per
//! delivery, no storage). Any crate in between (tungstenite's framing per socket,
//! socketioxide's packets) would add the very costs it is there to show. It speaks only what
//! the load generator (`crate::load`) needs of Engine.IO v4 / Socket.IO v5:
//!
//! - the WebSocket upgrade of `GET /socket.io/?EIO=4&transport=websocket` (no polling);
//! - the open packet (`0{"sid":…}`), a ping (`2`) to every socket every
//!   [`PING_INTERVAL`] as one shared frame, and a socket that did not answer the previous
//!   one (`3`) closed;
//! - the CONNECT of namespace `/` (`40`, its auth ignored), answered `40{"sid":…}`;
//! - `chat message` events (`42<ack>["chat message",content,…]`): broadcast to every
//!   connected socket, the sender included, as the official tutorial's server does
//!   (`42["chat message",content,id]`, `id` counting up from 1), then acknowledged (`43<ack>[]`).
//!
//! Everything else the client sends is ignored; a fragmented, binary or unmasked frame closes
//! the connection. A socket that cannot take a write at once keeps the rest in its own
//! backlog (written by its task when the kernel has room), at most [`MAX_BACKLOG`] bytes,
//! beyond which it is closed.
//!
//! Started by the benchmark as `socket-chat-bench --floor-server` (see `servers.rs`); it
//! prints `listening on http://127.0.0.1:PORT` as the other servers do.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::wire::{self, Opcode};

/// How often every socket is pinged (Engine.IO's default).
pub const PING_INTERVAL: Duration = Duration::from_secs(25);
/// The most bytes a socket may have waiting for the kernel before it is closed.
pub const MAX_BACKLOG: usize = 4 * 1024 * 1024;
/// The largest upgrade request read.
const MAX_REQUEST: usize = 8 * 1024;
/// Bytes read at a time (a stack buffer, not kept in the connection's future).
const READ_CHUNK: usize = 16 * 1024;

/// Every socket connected to namespace `/`, and the message counter.
#[derive(Default)]
struct Hub {
    peers: RwLock<HashMap<u64, Arc<Peer>>>,
    next_sid: AtomicU64,
    /// The last message's id (the official tutorial's server offset, without a database).
    last_message: AtomicU64,
}

/// One connection: its stream, and what the kernel could not take yet.
struct Peer {
    stream: TcpStream,
    /// Bytes to write before anything else (under the lock, so that frames stay in order
    /// whichever task writes them).
    backlog: Mutex<Vec<u8>>,
    /// Wakes the connection's task: a backlog to write, or the socket to close.
    wake: Notify,
    /// It answered the last ping.
    ponged: AtomicBool,
    /// It is to be closed (its backlog overflowed, or it stopped answering pings).
    closing: AtomicBool,
}

impl Peer {
    /// Writes `frame` now if the kernel takes it and nothing is waiting; otherwise queues
    /// (the rest of) it for the connection's task.
    fn send(&self, frame: &[u8]) {
        let mut backlog = self.backlog.lock().unwrap_or_else(|e| e.into_inner());
        let rest = if backlog.is_empty() {
            match self.stream.try_write(frame) {
                Ok(n) if n == frame.len() => return,
                Ok(n) => &frame[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => frame,
                Err(_) => return self.close(),
            }
        } else {
            frame
        };
        if backlog.len() + rest.len() > MAX_BACKLOG {
            drop(backlog);
            return self.close();
        }
        let was_empty = backlog.is_empty();
        backlog.extend_from_slice(rest);
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Writes what the backlog holds, as far as the kernel takes it; `Err` when the socket
    /// is broken.
    fn write_backlog(&self) -> std::io::Result<()> {
        let mut backlog = self.backlog.lock().unwrap_or_else(|e| e.into_inner());
        while !backlog.is_empty() {
            match self.stream.try_write(&backlog) {
                Ok(n) => drop(backlog.drain(..n)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        // A drained backlog gives its memory back: idle sockets hold none.
        if backlog.is_empty() {
            *backlog = Vec::new();
        }
        Ok(())
    }

    fn has_backlog(&self) -> bool {
        !self.backlog.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }
}

/// Serves on `127.0.0.1:port` (0: a free one) until the process is stopped.
pub async fn serve(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let hub = Arc::new(Hub::default());
    tokio::spawn(heartbeat(hub.clone()));
    loop {
        let (stream, _) = listener.accept().await?;
        let hub = hub.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(&hub, stream).await {
                eprintln!("floor: connection refused: {e}");
            }
        });
    }
}

/// Every [`PING_INTERVAL`]: closes the sockets that did not answer the last ping, pings
/// the others (one shared frame).
async fn heartbeat(hub: Arc<Hub>) {
    let mut ping = Vec::new();
    wire::encode_unmasked(&mut ping, Opcode::Text, b"2");
    let mut every = tokio::time::interval(PING_INTERVAL);
    every.tick().await;
    loop {
        every.tick().await;
        for peer in hub.peers.read().unwrap_or_else(|e| e.into_inner()).values() {
            if peer.ponged.swap(false, Ordering::Relaxed) {
                peer.send(&ping);
            } else {
                peer.close();
            }
        }
    }
}

/// One connection, from the upgrade to its end.
async fn connection(hub: &Hub, mut stream: TcpStream) -> Result<(), String> {
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let accept = match upgrade_request(&mut stream).await {
        Ok(accept) => accept,
        Err(refusal) => {
            let response = format!("HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n{refusal}", refusal.len());
            let _ = stream.write_all(response.as_bytes()).await;
            return Err(refusal);
        }
    };
    let sid = hub.next_sid.fetch_add(1, Ordering::Relaxed);
    let mut hello = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes();
    let open = format!(
        r#"0{{"sid":"f{sid}","upgrades":[],"pingInterval":{},"pingTimeout":20000,"maxPayload":1000000}}"#,
        PING_INTERVAL.as_millis()
    );
    wire::encode_unmasked(&mut hello, Opcode::Text, open.as_bytes());
    stream.write_all(&hello).await.map_err(|e| e.to_string())?;
    let peer = Arc::new(Peer {
        stream,
        backlog: Mutex::new(Vec::new()),
        wake: Notify::new(),
        ponged: AtomicBool::new(true),
        closing: AtomicBool::new(false),
    });
    let ended = run(hub, sid, &peer).await;
    hub.peers.write().unwrap_or_else(|e| e.into_inner()).remove(&sid);
    match ended {
        Ok(()) | Err(Ended::Gone) => Ok(()),
        Err(Ended::Refused(why)) => Err(why),
    }
}

/// Reads the upgrade request; the `Sec-WebSocket-Accept` to answer it with, or why not.
async fn upgrade_request(stream: &mut TcpStream) -> Result<String, String> {
    let mut request = Vec::with_capacity(1024);
    loop {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before its request".into());
        }
        request.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&request) {
            Ok(httparse::Status::Complete(_)) => return accept_key(&parsed),
            Ok(httparse::Status::Partial) if request.len() < MAX_REQUEST => {}
            Ok(httparse::Status::Partial) => return Err("request too large".into()),
            Err(e) => return Err(format!("bad request: {e}")),
        }
    }
}

/// The `Sec-WebSocket-Accept` of an Engine.IO WebSocket request, or why it is not one.
fn accept_key(request: &httparse::Request<'_, '_>) -> Result<String, String> {
    let path = request.path.unwrap_or_default();
    if !path.starts_with("/socket.io/") || !path.contains("EIO=4") || !path.contains("transport=websocket") {
        return Err(format!("only Engine.IO v4 WebSockets at /socket.io/ are served, not {path}"));
    }
    let key = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
        .ok_or("no Sec-WebSocket-Key")?;
    Ok(tungstenite::handshake::derive_accept_key(key.value))
}

/// Why a connection ended early.
#[derive(Debug)]
enum Ended {
    /// The client sent what the floor does not serve (printed: the load generator changed).
    Refused(String),
    /// The socket broke, or was closed for its backlog or a missing pong (not printed: it
    /// happens to every socket a measure drops at once).
    Gone,
}

/// The connection's loop: reads and answers, writes its backlog, until it ends.
async fn run(hub: &Hub, sid: u64, peer: &Arc<Peer>) -> Result<(), Ended> {
    // An incomplete frame waiting for the rest (empty, without memory, most of the time).
    let mut partial = Vec::new();
    loop {
        if peer.closing.load(Ordering::Relaxed) {
            return Err(Ended::Gone);
        }
        let backlog = peer.has_backlog();
        tokio::select! {
            ready = peer.stream.readable() => {
                ready.map_err(|_| Ended::Gone)?;
                let mut chunk = [0u8; READ_CHUNK];
                let n = match peer.stream.try_read(&mut chunk) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                    Err(_) => return Err(Ended::Gone),
                };
                if partial.is_empty() {
                    let used = frames(hub, sid, peer, &mut chunk[..n])?;
                    partial.extend_from_slice(&chunk[used..n]);
                } else {
                    partial.extend_from_slice(&chunk[..n]);
                    let used = frames(hub, sid, peer, &mut partial)?;
                    partial.drain(..used);
                    if partial.is_empty() {
                        partial = Vec::new();
                    }
                }
            }
            ready = peer.stream.writable(), if backlog => {
                ready.map_err(|_| Ended::Gone)?;
                peer.write_backlog().map_err(|_| Ended::Gone)?;
            }
            () = peer.wake.notified() => {}
        }
    }
}

/// Handles every complete frame at the start of `buf`; returns the bytes they took.
fn frames(hub: &Hub, sid: u64, peer: &Arc<Peer>, buf: &mut [u8]) -> Result<usize, Ended> {
    let mut at = 0;
    loop {
        let header = match wire::decode_masked(&mut buf[at..]) {
            Ok(Some(header)) => header,
            Ok(None) => return Ok(at),
            Err(e) => return Err(Ended::Refused(e.to_string())),
        };
        let payload = &buf[at + header.payload_start..at + header.frame_len()];
        match (header.opcode, header.fin) {
            (Opcode::Text, true) => packet(hub, sid, peer, payload),
            (Opcode::Ping, _) => {
                let mut pong = Vec::new();
                wire::encode_unmasked(&mut pong, Opcode::Pong, payload);
                peer.send(&pong);
            }
            (Opcode::Pong, _) => {}
            (Opcode::Close, _) => {
                let mut close = Vec::new();
                wire::encode_unmasked(&mut close, Opcode::Close, &[]);
                peer.send(&close);
                return Err(Ended::Gone);
            }
            (opcode, fin) => return Err(Ended::Refused(format!("a {opcode:?} frame (fin: {fin}) is not served"))),
        }
        at += header.frame_len();
    }
}

/// One Engine.IO packet from the client.
fn packet(hub: &Hub, sid: u64, peer: &Arc<Peer>, packet: &[u8]) {
    match packet {
        b"3" => peer.ponged.store(true, Ordering::Relaxed),
        // CONNECT to `/` (its auth, if any, is not looked at).
        [b'4', b'0', rest @ ..] if rest.first().is_none_or(|&b| b == b'{') => {
            let mut reply = Vec::new();
            wire::encode_unmasked(&mut reply, Opcode::Text, format!(r#"40{{"sid":"s{sid}"}}"#).as_bytes());
            peer.send(&reply);
            hub.peers.write().unwrap_or_else(|e| e.into_inner()).insert(sid, peer.clone());
        }
        // DISCONNECT from `/`.
        b"41" => {
            hub.peers.write().unwrap_or_else(|e| e.into_inner()).remove(&sid);
        }
        [b'4', b'2', event @ ..] => {
            if let Some((ack, content)) = chat_message(event) {
                let id = hub.last_message.fetch_add(1, Ordering::Relaxed) + 1;
                let frame = broadcast_frame(content, id);
                for other in hub.peers.read().unwrap_or_else(|e| e.into_inner()).values() {
                    other.send(&frame);
                }
                if let Some(ack) = ack {
                    let mut reply = Vec::new();
                    wire::encode_unmasked(&mut reply, Opcode::Text, format!("43{ack}[]").as_bytes());
                    peer.send(&reply);
                }
            }
        }
        _ => {}
    }
}

/// A `chat message` event's ack id and content (JSON text, as sent), from what follows
/// `42`: `<ack>["chat message",content,…]`.
fn chat_message(event: &[u8]) -> Option<(Option<u64>, &str)> {
    let digits = event.iter().position(|b| !b.is_ascii_digit())?;
    let ack = std::str::from_utf8(&event[..digits]).ok().and_then(|d| d.parse().ok());
    let args: Vec<&RawValue> = serde_json::from_slice(&event[digits..]).ok()?;
    match args.as_slice() {
        [name, content, ..] if name.get() == r#""chat message""# => Some((ack, content.get())),
        _ => None,
    }
}

/// The one frame every socket gets for a message: `42["chat message",content,id]`.
fn broadcast_frame(content: &str, id: u64) -> Vec<u8> {
    let mut frame = Vec::with_capacity(content.len() + 48);
    wire::encode_unmasked(&mut frame, Opcode::Text, format!(r#"42["chat message",{content},{id}]"#).as_bytes());
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::RawWs;
    use std::ops::ControlFlow;

    #[test]
    fn reads_the_chat_message_and_its_ack() {
        assert_eq!(chat_message(br#"7["chat message","t12","b-7"]"#), Some((Some(7), r#""t12""#)));
        assert_eq!(chat_message(br#"["chat message","hi"]"#), Some((None, r#""hi""#)));
        assert_eq!(chat_message(br#"1["typing",{}]"#), None);
        assert_eq!(chat_message(br#"1["chat message""#), None);
        assert_eq!(chat_message(b"12"), None);
    }

    /// The load generator connects, the sender gets its ack, and every socket, the sender
    /// included, gets the message in the official server's shape.
    /// A floor server on a free port, once it accepts connections.
    async fn started() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        tokio::spawn(serve(port));
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        port
    }

    #[tokio::test]
    async fn the_load_generator_chats_through_it() {
        let port = started().await;
        let mut receiver = RawWs::connect(port, None).await.unwrap();
        let mut sender = RawWs::connect(port, None).await.unwrap();
        sender.queue_text(crate::load::chat_frame(1, "k-1").as_bytes());
        sender.flush().await.unwrap();
        let (mut acked, mut echoed) = (false, false);
        while !(acked && echoed) {
            sender.fill().await.unwrap();
            sender
                .messages(|m| {
                    acked |= m == b"431[]";
                    echoed |= crate::load::sent_at(m).is_some();
                    ControlFlow::Continue(())
                })
                .unwrap();
        }
        let mut got = None;
        while got.is_none() {
            receiver.fill().await.unwrap();
            receiver
                .messages(|m| {
                    got = got.or(crate::load::sent_at(m).map(|_| crate::load::server_offset(m)));
                    ControlFlow::Continue(())
                })
                .unwrap();
        }
        assert_eq!(got, Some(Some(1)));
    }

    #[tokio::test]
    async fn refuses_what_is_not_an_engine_io_websocket() {
        let port = started().await;
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(b"GET /socket.io/?EIO=3&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 400") && response.contains("Engine.IO v4"), "{response}");
    }
}
