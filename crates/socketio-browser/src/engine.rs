//! Engine.IO v4 packets over WebSocket: one packet per WebSocket frame.
//!
//! Text frames start with the packet type digit (`0` open, `1` close, `2` ping, `3` pong,
//! `4` message, `6` noop); a binary frame is a binary message.

use bytes::Bytes;
use serde::Deserialize;

/// A WebSocket frame, as the transport sends and receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Bytes),
}

/// The server's `0` open packet: `0{"sid":"…","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// Engine.IO session id (not the Socket.IO socket id).
    pub sid: String,
    /// How often the server pings, in milliseconds.
    pub ping_interval: u64,
    /// How long the server waits for a pong, in milliseconds.
    pub ping_timeout: u64,
    /// Largest payload the server accepts, in bytes.
    #[serde(default)]
    pub max_payload: u64,
}

/// An Engine.IO packet received from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnginePacket {
    /// The session is open.
    Open(OpenPacket),
    /// The server closes the session.
    Close,
    /// Heartbeat: answer with a pong.
    Ping,
    /// Answer to a ping of ours (unused in v4, where the server pings).
    Pong,
    /// A Socket.IO packet in text.
    Message(String),
    /// A binary attachment of a Socket.IO packet.
    Binary(Bytes),
    /// Nothing.
    Noop,
}

/// A frame the server sent that is not Engine.IO v4.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Empty text frame.
    #[error("empty Engine.IO frame")]
    Empty,
    /// Unknown packet type.
    #[error("unknown Engine.IO packet type {0:?}")]
    UnknownType(char),
    /// Malformed open packet.
    #[error("invalid Engine.IO open packet: {0}")]
    InvalidOpen(String),
}

impl EnginePacket {
    /// Decodes one frame.
    pub fn decode(frame: Frame) -> Result<Self, EngineError> {
        let text = match frame {
            Frame::Binary(bytes) => return Ok(Self::Binary(bytes)),
            Frame::Text(text) => text,
        };
        let kind = text.chars().next().ok_or(EngineError::Empty)?;
        let body = &text[kind.len_utf8()..];
        Ok(match kind {
            '0' => Self::Open(serde_json::from_str(body).map_err(|e| EngineError::InvalidOpen(e.to_string()))?),
            '1' => Self::Close,
            '2' => Self::Ping,
            '3' => Self::Pong,
            '4' => Self::Message(body.to_owned()),
            '6' => Self::Noop,
            other => return Err(EngineError::UnknownType(other)),
        })
    }
}

/// The pong frame answering a ping.
pub fn pong() -> Frame {
    Frame::Text("3".into())
}

/// The frame that closes the session.
pub fn close() -> Frame {
    Frame::Text("1".into())
}

/// A Socket.IO packet in text, wrapped as an Engine.IO message.
pub fn message(text: &str) -> Frame {
    let mut frame = String::with_capacity(text.len() + 1);
    frame.push('4');
    frame.push_str(text);
    Frame::Text(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_packet_type() {
        let open = EnginePacket::decode(Frame::Text(
            r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#.into(),
        ))
        .unwrap();
        assert_eq!(
            open,
            EnginePacket::Open(OpenPacket {
                sid: "abc".into(),
                ping_interval: 25000,
                ping_timeout: 20000,
                max_payload: 1_000_000
            })
        );
        assert_eq!(EnginePacket::decode(Frame::Text("2".into())).unwrap(), EnginePacket::Ping);
        assert_eq!(EnginePacket::decode(Frame::Text("1".into())).unwrap(), EnginePacket::Close);
        assert_eq!(EnginePacket::decode(Frame::Text("6".into())).unwrap(), EnginePacket::Noop);
        assert_eq!(EnginePacket::decode(Frame::Text("40".into())).unwrap(), EnginePacket::Message("0".into()));
        assert_eq!(
            EnginePacket::decode(Frame::Binary(Bytes::from_static(&[1, 2]))).unwrap(),
            EnginePacket::Binary(Bytes::from_static(&[1, 2]))
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(EnginePacket::decode(Frame::Text(String::new())), Err(EngineError::Empty));
        assert_eq!(EnginePacket::decode(Frame::Text("9".into())), Err(EngineError::UnknownType('9')));
        assert!(matches!(EnginePacket::decode(Frame::Text("0{".into())), Err(EngineError::InvalidOpen(_))));
    }

    #[test]
    fn wraps_messages() {
        assert_eq!(message("0"), Frame::Text("40".into()));
    }
}
