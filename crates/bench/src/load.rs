//! The load: raw Engine.IO / Socket.IO frames over [`RawWs`], as light as a client can be,
//! so that the generator is never the bottleneck. Messages carry their send time
//! (`t<microseconds since the epoch>`) as their text; receivers only look for it.

use std::ops::ControlFlow;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socket_chat_protocol::events;

use crate::histogram::Latencies;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::raw::RawWs;

/// Errors of the load generator, as text (they end a scenario, with this message).
pub type Result<T> = std::result::Result<T, String>;

/// Microseconds since the Unix epoch: the clock every process on this machine shares.
pub fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// How every `chat message` event frame starts: `42["chat message","`.
static CHAT_PREFIX: LazyLock<String> =
    LazyLock::new(|| format!(r#"42[{},""#, serde_json::to_string(events::CHAT_MESSAGE).expect("a string")));

/// The send time in a `chat message` frame: `42["chat message","t<micros>",…]`.
pub fn sent_at(frame: &[u8]) -> Option<u64> {
    let rest = frame.strip_prefix(CHAT_PREFIX.as_bytes())?.strip_prefix(b"t")?;
    let digits = rest.iter().position(|b| !b.is_ascii_digit())?;
    if digits == 0 || digits > 19 || rest[digits] != b'"' {
        return None;
    }
    Some(rest[..digits].iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

/// The server offset in a `chat message` frame (its third element).
pub fn server_offset(frame: &[u8]) -> Option<i64> {
    let frame = std::str::from_utf8(frame).ok()?;
    let rest = frame.strip_prefix(CHAT_PREFIX.as_str())?;
    // The content (ours: `t<digits>`, no quote inside), its closing quote, a comma.
    let rest = &rest[rest.find('"')? + 2..];
    let end = rest.find([',', ']'])?;
    rest[..end].parse().ok()
}

/// A `chat message` emit with ack id `ack`: `42<ack>["chat message","t<now>","<key>"]`
/// (content and client offset, as [`SendMessageArgs`](socket_chat_protocol::SendMessageArgs)
/// reads them).
pub fn chat_frame(ack: u64, key: &str) -> String {
    let args = (events::CHAT_MESSAGE, format!("t{}", now_micros()), key);
    format!("42{ack}{}", serde_json::to_string(&args).expect("strings serialize"))
}

/// Longest wait for the server while sending with acks or catching up.
const PATIENCE: Duration = Duration::from_secs(30);

/// Takes every frame read so far: answers pings, counts acks (`43…`) and hands every other
/// frame to `each`. Returns the acks.
pub async fn take(ws: &mut RawWs, mut each: impl FnMut(&[u8])) -> Result<u64> {
    let (mut acks, mut ping) = (0, false);
    let open = ws.messages(|frame| {
        match frame {
            b"2" => ping = true,
            [b'4', b'3', ..] => acks += 1,
            _ => each(frame),
        }
        ControlFlow::Continue(())
    })?;
    if ping {
        ws.queue_text(b"3");
    }
    ws.flush().await?;
    if !open {
        return Err("the server closed the connection".into());
    }
    Ok(acks)
}

/// Waits for more frames (at most [`PATIENCE`]) and takes them; returns the acks.
pub async fn take_next(ws: &mut RawWs, each: impl FnMut(&[u8])) -> Result<u64> {
    match tokio::time::timeout(PATIENCE, ws.fill()).await {
        Ok(Ok(true)) => take(ws, each).await,
        Ok(Ok(false)) => Err("the server closed the connection".into()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("nothing from the server for {} s", PATIENCE.as_secs())),
    }
}

/// Reads and drops what the server sends until `deadline`, answering pings; returns the acks.
pub async fn read_until(ws: &mut RawWs, deadline: Instant) -> Result<u64> {
    let mut acks = 0;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return Ok(acks),
            read = ws.fill() => {
                if !read? {
                    return Err("the server closed the connection".into());
                }
                acks += take(ws, |_| {}).await?;
            }
        }
    }
}

/// Sends `count` messages keyed `<prefix>-<n>` with acks, keeping up to `window` in flight;
/// returns when all are acknowledged. The socket's own broadcasts are read and dropped.
pub async fn send_acked(ws: &mut RawWs, prefix: &str, count: u64, window: u64) -> Result<()> {
    let (mut sent, mut acked) = (0u64, 0u64);
    while acked < count {
        while sent < count && sent - acked < window {
            sent += 1;
            ws.queue_text(chat_frame(sent, &format!("{prefix}-{sent}")).as_bytes());
        }
        ws.flush().await?;
        acked += take_next(ws, |_| {}).await.map_err(|e| format!("{acked} of {count} acknowledged: {e}"))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_send_time_and_the_offset() {
        let ours = r#"42["chat message","t1700000000123456",42,{"sentAt":1,"clientOffset":"b-1"}]"#;
        let official = r#"42["chat message","t1700000000123456",42]"#;
        for frame in [ours, official] {
            assert_eq!(sent_at(frame.as_bytes()), Some(1_700_000_000_123_456));
            assert_eq!(server_offset(frame.as_bytes()), Some(42));
        }
        assert_eq!(sent_at(br#"42["typing",{}]"#), None);
        assert_eq!(sent_at(br#"42["chat message","t12x"]"#), None);
        assert_eq!(sent_at(br#"42["chat message","t"]"#), None);
    }
}
