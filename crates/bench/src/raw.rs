//! The load generator's WebSocket: a TCP stream, the HTTP upgrade, and many frames per
//! `read`, each looked at where it lies (the frame format is `crate::wire`,
//! which says why it is written by hand).

use std::ops::ControlFlow;

use crate::wire::{self, Opcode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use socket_chat_protocol::HandshakeAuth;

use crate::load::Result;

/// Bytes read at a time: under load one read brings hundreds of chat frames.
const READ_CHUNK: usize = 64 * 1024;
/// The client's masking key. RFC 6455 wants it unpredictable to protect proxies from
/// cache poisoning by scripts; a load generator on loopback has neither.
const MASK: [u8; 4] = [0x5a, 0x17, 0xc3, 0x8e];

/// One WebSocket to the server, Engine.IO on top.
pub struct RawWs {
    stream: TcpStream,
    /// Bytes read and not yet consumed: `buf[..filled]`.
    buf: Vec<u8>,
    filled: usize,
    /// A fragmented text message being put back together.
    fragment: Option<Vec<u8>>,
    /// Frames to send at the next `flush`.
    out: Vec<u8>,
}

impl RawWs {
    /// Opens the Engine.IO WebSocket at `127.0.0.1:port` (the HTTP upgrade only).
    pub async fn open(port: u16) -> Result<Self> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let request = format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut buf = vec![0; READ_CHUNK];
        let mut filled = 0;
        let head_end = loop {
            let n = stream.read(&mut buf[filled..]).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("closed during the WebSocket upgrade".into());
            }
            filled += n;
            if let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            if filled == buf.len() {
                return Err("the upgrade response is too large".into());
            }
        };
        let status = String::from_utf8_lossy(&buf[..head_end]);
        let status = status.lines().next().unwrap_or_default();
        if !status.starts_with("HTTP/1.1 101") {
            return Err(format!("WebSocket upgrade refused: {status}"));
        }
        // Frames the server sent right after its response stay in the buffer.
        buf.copy_within(head_end..filled, 0);
        Ok(Self { stream, buf, filled: filled - head_end, fragment: None, out: Vec::new() })
    }

    /// Waits for more bytes from the server; `false` once it has closed. Cancel-safe (one
    /// `read`), so it can race other futures in `select!`.
    pub async fn fill(&mut self) -> Result<bool> {
        if self.filled == self.buf.len() {
            // A frame larger than the buffer: make room for the rest of it.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.stream.read(&mut self.buf[self.filled..]).await.map_err(|e| e.to_string())?;
        self.filled += n;
        Ok(n > 0)
    }

    /// Hands each complete text message read so far to `each`, until it breaks; answers
    /// WebSocket pings (sent at the next `flush`). `false` when the server sent a close.
    pub fn messages(&mut self, mut each: impl FnMut(&[u8]) -> ControlFlow<()>) -> Result<bool> {
        let mut at = 0;
        let mut open = true;
        while let Some(header) = wire::decode(&self.buf[at..self.filled]).map_err(|e| e.to_string())? {
            let payload = &self.buf[at + header.payload_start..at + header.frame_len()];
            at += header.frame_len();
            let flow = match (header.opcode, header.fin, self.fragment.as_mut()) {
                (Opcode::Text, true, _) => each(payload),
                (Opcode::Text, false, _) => {
                    self.fragment = Some(payload.to_vec());
                    ControlFlow::Continue(())
                }
                (Opcode::Continuation, fin, Some(fragment)) => {
                    fragment.extend_from_slice(payload);
                    match fin {
                        true => each(&self.fragment.take().unwrap_or_default()),
                        false => ControlFlow::Continue(()),
                    }
                }
                (Opcode::Ping, ..) => {
                    wire::encode(&mut self.out, Opcode::Pong, payload, MASK);
                    ControlFlow::Continue(())
                }
                (Opcode::Close, ..) => {
                    open = false;
                    ControlFlow::Break(())
                }
                // Binary messages (and their continuations) and pongs: not part of the chat.
                _ => ControlFlow::Continue(()),
            };
            if flow.is_break() {
                break;
            }
        }
        self.buf.copy_within(at..self.filled, 0);
        self.filled -= at;
        Ok(open)
    }

    /// Queues a text message (sent at the next `flush`).
    pub fn queue_text(&mut self, text: &[u8]) {
        wire::encode(&mut self.out, Opcode::Text, text, MASK);
    }

    /// Sends what was queued.
    pub async fn flush(&mut self) -> Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await.map_err(|e| e.to_string())?;
            self.out.clear();
        }
        Ok(())
    }

    /// Opens a socket on namespace `/` with `auth` (none: an empty CONNECT) and waits for
    /// the server's CONNECT.
    pub async fn connect(port: u16, auth: Option<&HandshakeAuth>) -> Result<Self> {
        let auth = auth.map(serde_json::to_string).transpose().map_err(|e| e.to_string())?.unwrap_or_default();
        let mut ws = Self::open(port).await?;
        let mut connect_sent = false;
        loop {
            let (mut open_seen, mut ping, mut outcome) = (false, false, None);
            let open = ws.messages(|m| {
                match m {
                    [b'0', ..] if !connect_sent => open_seen = true,
                    b"2" => ping = true,
                    [b'4', b'0', ..] => outcome = Some(Ok(())),
                    [b'4', b'4', ..] => outcome = Some(Err(String::from_utf8_lossy(m).into_owned())),
                    _ => {}
                }
                if outcome.is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
            })?;
            if open_seen {
                ws.queue_text(format!("40{auth}").as_bytes());
                connect_sent = true;
            }
            if ping {
                ws.queue_text(b"3");
            }
            ws.flush().await?;
            match outcome {
                Some(Ok(())) => return Ok(ws),
                Some(Err(refusal)) => return Err(format!("connection refused: {refusal}")),
                None if !open || !ws.fill().await? => return Err("closed during the handshake".into()),
                None => {}
            }
        }
    }
}
