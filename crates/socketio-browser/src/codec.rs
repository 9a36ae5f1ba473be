//! Socket.IO v5 packets, encoded and decoded by socketioxide's `CommonParser`.
//!
//! Reusing the server's parser means the browser and the server cannot disagree on the wire
//! format. A packet becomes one Engine.IO text frame followed by one binary frame per
//! attachment.

use std::borrow::Cow;
use std::collections::VecDeque;

use bytes::Bytes;
use socketioxide_core::Value;
use socketioxide_core::packet::Packet;
use socketioxide_core::parser::{Parse, ParseConfig, ParseError, ParserState};
use socketioxide_parser_common::CommonParser;

use super::engine::{self, Frame};

pub use socketioxide_core::packet::PacketData;
pub use socketioxide_core::parser::ParserError;

/// Most attachments one binary packet may announce.
const MAX_ATTACHMENTS: usize = 1_000;

/// Decodes incoming Socket.IO packets, keeping a binary packet until its attachments arrive.
///
/// socketioxide's parser is a server's: it does not decode CONNECT_ERROR (only servers send
/// it), and it times binary reassembly with `std::time::Instant`, which panics in
/// `wasm32-unknown-unknown`. So this decoder handles those two cases itself (a few lines)
/// and hands every other packet to the shared parser.
#[derive(Debug, Default)]
pub struct Decoder {
    config: ParseConfig,
    state: ParserState,
    partial: Option<Partial>,
}

#[derive(Debug)]
struct Partial {
    packet: Packet,
    expected: usize,
    attachments: VecDeque<Bytes>,
}

/// What became of an incoming frame.
#[derive(Debug)]
pub enum Decoded {
    /// A whole packet.
    Packet(Packet),
    /// Part of a binary packet: more attachments are expected.
    Partial,
}

impl Decoder {
    /// Decodes the text of an Engine.IO message.
    pub fn text(&mut self, text: String) -> Result<Decoded, ParseError> {
        if self.partial.is_some() {
            self.partial = None;
            return Err(ParseError::UnexpectedStringPacket);
        }
        match text.as_bytes().first() {
            Some(b'4') => Ok(Decoded::Packet(connect_error(&text[1..])?)),
            Some(kind @ (b'5' | b'6')) => {
                let rest = &text[1..];
                let dash = rest.find('-').ok_or(ParseError::InvalidAttachments)?;
                let expected: usize = rest[..dash].parse().map_err(|_| ParseError::InvalidAttachments)?;
                if expected > MAX_ATTACHMENTS {
                    return Err(ParseError::TooManyAttachments { got: expected, max: MAX_ATTACHMENTS });
                }
                // The same packet without its attachment count is a plain EVENT or ACK.
                let plain = format!("{}{}", if *kind == b'5' { '2' } else { '3' }, &rest[dash + 1..]);
                let packet = self.decode_plain(plain)?;
                self.partial = Some(Partial { packet, expected, attachments: VecDeque::with_capacity(expected) });
                self.complete()
            }
            _ => self.decode_plain(text).map(Decoded::Packet),
        }
    }

    /// Decodes a binary attachment.
    pub fn binary(&mut self, bytes: Bytes) -> Result<Decoded, ParseError> {
        let partial = self.partial.as_mut().ok_or(ParseError::UnexpectedBinaryPacket)?;
        partial.attachments.push_back(bytes);
        self.complete()
    }

    fn decode_plain(&self, text: String) -> Result<Packet, ParseError> {
        CommonParser.decode_str(&self.config, &self.state, text.into())
    }

    fn complete(&mut self) -> Result<Decoded, ParseError> {
        match &self.partial {
            Some(p) if p.attachments.len() >= p.expected => {}
            Some(_) => return Ok(Decoded::Partial),
            None => return Err(ParseError::UnexpectedBinaryPacket),
        }
        let Partial { mut packet, attachments, .. } = self.partial.take().expect("checked above");
        packet.inner = match packet.inner {
            PacketData::Event(Value::Str(s, _), ack) => PacketData::BinaryEvent(Value::Str(s, Some(attachments)), ack),
            PacketData::EventAck(Value::Str(s, _), ack) => PacketData::BinaryAck(Value::Str(s, Some(attachments)), ack),
            _ => return Err(ParseError::InvalidData),
        };
        Ok(Decoded::Packet(packet))
    }
}

/// `4[/ns,]{"message":"…"}` (v5) or `4[/ns,]"…"` (v4) into a CONNECT_ERROR packet.
fn connect_error(body: &str) -> Result<Packet, ParseError> {
    let (ns, json) = match body.strip_prefix('/') {
        Some(_) => body.split_once(',').unwrap_or((body, "")),
        None => ("/", body),
    };
    #[derive(serde::Deserialize)]
    struct Reason {
        message: String,
    }
    // Two plain reads, not serde's `untagged` enum (which buffers the value first: more code).
    let message = if json.is_empty() {
        String::new()
    } else if json.starts_with('"') {
        serde_json::from_str::<String>(json).map_err(|_| ParseError::InvalidData)?
    } else {
        serde_json::from_str::<Reason>(json).map_err(|_| ParseError::InvalidData)?.message
    };
    Ok(Packet::connect_error(ns.to_owned(), message))
}

/// Encodes a packet into the frames that carry it.
pub fn encode(packet: Packet) -> Vec<Frame> {
    match CommonParser.encode(packet) {
        Value::Str(text, attachments) => {
            let mut frames = vec![engine::message(&text)];
            frames.extend(attachments.into_iter().flatten().map(Frame::Binary));
            frames
        }
        Value::Bytes(bytes) => vec![Frame::Binary(bytes)],
    }
}

/// No arguments: `emit("rtt", &NoArgs)` sends `["rtt"]`, where serde's `()` would send
/// `["rtt", null]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoArgs;

impl serde::Serialize for NoArgs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        serializer.serialize_tuple(0)?.end()
    }
}

/// Encodes `[event, ...args]` (a tuple spreads into several arguments).
pub fn event_value<T: serde::Serialize + ?Sized>(event: &str, args: &T) -> Result<Value, ParserError> {
    CommonParser.encode_value(args, Some(event))
}

/// Encodes the arguments of an ack.
pub fn ack_value<T: serde::Serialize + ?Sized>(args: &T) -> Result<Value, ParserError> {
    CommonParser.encode_value(args, None)
}

/// Encodes a CONNECT payload (the auth object).
pub fn auth_value<T: serde::Serialize + ?Sized>(auth: &T) -> Result<Value, ParserError> {
    CommonParser.encode_default(auth)
}

/// The event name of an EVENT's payload.
///
/// socketioxide's parser reads the name in place, which fails for a name with a JSON escape
/// in it (a quote, a backslash, a control character): such a name is read again, owned.
/// (Found by the property tests, `tests/properties.rs`.)
pub fn event_name(value: &Value) -> Result<Cow<'_, str>, ParserError> {
    let error = match CommonParser.read_event(value) {
        Ok(name) => return Ok(Cow::Borrowed(name)),
        Err(error) => error,
    };
    let Value::Str(text, _) = value else { return Err(error) };
    first_string(text).map(Cow::Owned).ok_or(error)
}

/// The first element of a JSON array, when it is a string.
fn first_string(text: &str) -> Option<String> {
    struct First;
    impl<'de> serde::de::Visitor<'de> for First {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element::<String>()?;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_seq(&mut deserializer, First).ok().flatten()
}

/// Decodes arguments: a tuple takes every argument, any other type the first one.
pub fn decode_args<T: serde::de::DeserializeOwned>(value: &mut Value, with_event: bool) -> Result<T, ParserError> {
    CommonParser.decode_value(value, with_event)
}

/// Decodes a CONNECT answer's payload (`{"sid": "…"}`).
pub fn decode_default<T: serde::de::DeserializeOwned>(value: Option<&Value>) -> Result<T, ParserError> {
    CommonParser.decode_default(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(packet: Packet) -> Packet {
        let frames = encode(packet);
        let mut decoder = Decoder::default();
        let mut last = None;
        for frame in frames {
            let decoded = match frame {
                Frame::Text(t) => decoder.text(t[1..].to_owned()),
                Frame::Binary(b) => decoder.binary(b),
            };
            last = Some(decoded.unwrap());
        }
        match last {
            Some(Decoded::Packet(p)) => p,
            other => panic!("incomplete packet: {other:?}"),
        }
    }

    #[test]
    fn every_text_packet_type_round_trips() {
        let event = Packet::event("/", event_value("chat message", &("hi", "c-1")).unwrap());
        let mut with_ack = event.clone();
        with_ack.inner.set_ack_id(3);
        for packet in [
            Packet::connect("/", Some(auth_value(&serde_json::json!({"serverOffset": 4})).unwrap())),
            Packet::connect("/admin", None),
            Packet::disconnect("/"),
            Packet::connect_error("/", "nope"),
            event,
            with_ack,
            Packet::ack("/", ack_value(&serde_json::json!({"status": "ok"})).unwrap(), 3),
        ] {
            assert_eq!(round_trip(packet.clone()), packet);
        }
    }

    #[test]
    fn event_frames_match_the_wire_format() {
        let mut packet = Packet::event("/", event_value("chat message", &("hi", "c-1")).unwrap());
        packet.inner.set_ack_id(12);
        assert_eq!(encode(packet), vec![Frame::Text(r#"4212["chat message","hi","c-1"]"#.into())]);
    }

    #[test]
    fn no_args_means_no_arguments() {
        assert_eq!(
            encode(Packet::event("/", event_value("rtt", &NoArgs).unwrap())),
            vec![Frame::Text(r#"42["rtt"]"#.into())]
        );
    }

    #[test]
    fn binary_attachments_travel_as_binary_frames() {
        let bytes = bytes::Bytes::from_static(&[6]);
        let value =
            event_value("catch-all-listeners", &(1, "2", bytes.clone(), bytes::Bytes::from_static(&[7, 8]))).unwrap();
        let frames = encode(Packet::event("/", value));
        assert_eq!(frames.len(), 3);
        assert!(matches!(&frames[0], Frame::Text(t) if t.starts_with("452-[")));
        assert_eq!(frames[1], Frame::Binary(bytes.clone()));
        let mut packet = Packet::event("/", event_value("catch-all-listeners", &(1, "2", bytes)).unwrap());
        packet.inner.set_ack_id(4);
        assert_eq!(round_trip(packet.clone()), packet);
        let ack = Packet::ack(
            "/",
            ack_value(&(bytes::Bytes::from_static(&[1]), bytes::Bytes::from_static(&[2]))).unwrap(),
            9,
        );
        assert!(ack.inner.is_binary());
        assert_eq!(round_trip(ack.clone()), ack);
    }

    #[test]
    fn connect_errors_of_both_protocol_versions_decode() {
        let mut decoder = Decoder::default();
        for (text, ns, message) in [
            (r#"4{"message":"Not authorized"}"#, "/", "Not authorized"),
            (r#"4/admin,{"message":"nope"}"#, "/admin", "nope"),
            (r#"4"Invalid namespace""#, "/", "Invalid namespace"),
        ] {
            let Ok(Decoded::Packet(p)) = decoder.text(text.into()) else { panic!("{text}") };
            assert_eq!(p, Packet::connect_error(ns, message));
        }
    }

    #[test]
    fn stray_frames_are_errors() {
        let mut decoder = Decoder::default();
        assert!(decoder.binary(bytes::Bytes::from_static(&[1])).is_err());
        assert!(matches!(decoder.text(r#"51-["e",{"_placeholder":true,"num":0}]"#.into()), Ok(Decoded::Partial)));
        assert!(decoder.text(r#"2["e"]"#.into()).is_err());
        assert!(decoder.text("59999-[]".into()).is_err());
    }
}
