//! The load: raw Engine.IO / Socket.IO frames, as light as a client can be, so that the
//! generator is never the bottleneck. Receivers (the many) read frames in place over
//! [`RawWs`]; senders (one or a few) use tokio-tungstenite. Messages carry their send time
//! (`t<microseconds since the epoch>`) as their text; receivers only look for it.

use std::ops::ControlFlow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use socket_chat::bench::histogram::Latencies;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::raw::RawWs;

/// One WebSocket to the server.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Errors of the load generator, as text (they end a scenario, with this message).
pub type Result<T> = std::result::Result<T, String>;

/// Microseconds since the Unix epoch: the clock every process on this machine shares.
pub fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// Opens a socket on namespace `/` with `auth` (a JSON object, or empty) and waits for the
/// server's CONNECT.
pub async fn connect(port: u16, auth: &str) -> Result<Ws> {
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
    let mut connect_sent = false;
    while let Some(frame) = ws.next().await {
        let Message::Text(text) = frame.map_err(|e| e.to_string())? else { continue };
        match text.as_str() {
            t if t.starts_with('0') && !connect_sent => {
                ws.send(Message::text(format!("40{auth}"))).await.map_err(|e| e.to_string())?;
                connect_sent = true;
            }
            "2" => ws.send(Message::text("3")).await.map_err(|e| e.to_string())?,
            t if t.starts_with("40") => return Ok(ws),
            t if t.starts_with("44") => return Err(format!("connection refused: {t}")),
            _ => {}
        }
    }
    Err("closed during the handshake".into())
}

/// The send time in a `chat message` frame: `42["chat message","t<micros>",…]`.
pub fn sent_at(frame: &[u8]) -> Option<u64> {
    let rest = frame.strip_prefix(br#"42["chat message","t"#)?;
    let digits = rest.iter().position(|b| !b.is_ascii_digit())?;
    if digits == 0 || digits > 19 || rest[digits] != b'"' {
        return None;
    }
    Some(rest[..digits].iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

/// The server offset in a `chat message` frame (its third element).
pub fn server_offset(frame: &str) -> Option<i64> {
    let rest = frame.strip_prefix(r#"42["chat message",""#)?;
    // The content (ours: `t<digits>`, no quote inside), its closing quote, a comma.
    let rest = &rest[rest.find('"')? + 2..];
    let end = rest.find([',', ']'])?;
    rest[..end].parse().ok()
}

/// A `chat message` emit with ack id `ack`: `42<ack>["chat message","t<now>","<key>"]`.
pub fn chat_frame(ack: u64, key: &str) -> Message {
    Message::text(format!(r#"42{ack}["chat message","t{}","{key}"]"#, now_micros()))
}

/// What a receiver counted in one step.
#[derive(Default)]
pub struct Tally {
    /// Chat messages received.
    pub received: u64,
    /// Their latencies.
    pub latencies: Latencies,
}

/// Receives until told to stop; at every change of `step` it reports the finished step's
/// tally and starts a new one. Answers pings. Every frame of one read gets the same arrival
/// time: they arrived together.
pub async fn receive(mut ws: RawWs, mut step: watch::Receiver<Option<u64>>, report: mpsc::UnboundedSender<Tally>) {
    // Marks the current step seen, so that only later changes close a tally.
    let mut current = *step.borrow_and_update();
    let mut tally = Tally::default();
    loop {
        tokio::select! {
            read = ws.fill() => {
                if !matches!(read, Ok(true)) {
                    break;
                }
                let now = now_micros();
                let mut ping = false;
                let open = ws.messages(|frame| {
                    if let Some(sent) = sent_at(frame) {
                        tally.received += 1;
                        tally.latencies.record(Duration::from_micros(now.saturating_sub(sent)));
                    } else if frame == b"2" {
                        ping = true;
                    }
                    ControlFlow::Continue(())
                });
                if ping {
                    ws.queue_text(b"3");
                }
                if !matches!(open, Ok(true)) || ws.flush().await.is_err() {
                    break;
                }
            }
            changed = step.changed() => {
                let next = if changed.is_ok() { *step.borrow() } else { None };
                let done = std::mem::take(&mut tally);
                if current.is_some() {
                    let _ = report.send(done);
                }
                current = next;
                if next.is_none() {
                    break;
                }
            }
        }
    }
}

/// Reads a socket until it closes, answering pings and counting acks (`43…`) and chat
/// messages; the counts are sent when it ends.
pub async fn drain(mut stream: futures_util::stream::SplitStream<Ws>, pong: mpsc::UnboundedSender<()>) -> (u64, u64) {
    let (mut acks, mut messages) = (0, 0);
    while let Some(Ok(frame)) = stream.next().await {
        if let Message::Text(text) = frame {
            match text.as_str() {
                "2" => {
                    let _ = pong.send(());
                }
                t if t.starts_with("43") => acks += 1,
                t if t.starts_with("42[\"chat message\"") => messages += 1,
                _ => {}
            }
        }
    }
    (acks, messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_send_time_and_the_offset() {
        let ours = r#"42["chat message","t1700000000123456",42,{"sentAt":1,"clientOffset":"b-1"}]"#;
        let official = r#"42["chat message","t1700000000123456",42]"#;
        for frame in [ours, official] {
            assert_eq!(sent_at(frame.as_bytes()), Some(1_700_000_000_123_456));
            assert_eq!(server_offset(frame), Some(42));
        }
        assert_eq!(sent_at(br#"42["typing",{}]"#), None);
        assert_eq!(sent_at(br#"42["chat message","t12x"]"#), None);
        assert_eq!(sent_at(br#"42["chat message","t"]"#), None);
    }
}
