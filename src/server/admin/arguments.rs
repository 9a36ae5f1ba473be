//! An event's arguments as a list of any length, binary arguments kept as binary.
//!
//! socketioxide spreads a tuple into separate arguments and sends anything else as one
//! argument, so a `Vec` would arrive as a single array. The Admin UI's commands and events
//! carry a variable number of arguments (`emit(nsp, filter, event, ...args)`,
//! `event_received(nsp, id, [event, ...args], time)`): this type reads and writes them as a
//! tuple of any length. Each argument is a `serde_value::Value`, which keeps bytes as bytes
//! (a `serde_json::Value` cannot hold them), so binary arguments are forwarded as the
//! Node.js package forwards them.

use std::fmt;

use serde::de::{self, SeqAccess};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_value::Value;
use socketioxide_core::parser::Parse;
use socketioxide_parser_common::CommonParser;

/// The arguments of one event, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Arguments(pub Vec<Value>);

impl Arguments {
    /// `[event, ...args]` of an incoming event as socketioxide holds it (binary attachments
    /// included), or `None` when it cannot be read.
    pub fn of_packet(value: &socketioxide_core::Value) -> Option<Self> {
        let mut value = value.clone();
        CommonParser.decode_value::<Arguments>(&mut value, false).ok()
    }

    /// `[event, ...args]` of an emit of `data`, exactly as socketioxide puts it on the
    /// wire (a tuple spread, anything else one argument), and the packet's size in bytes.
    pub fn of_emit<T: Serialize + ?Sized>(event: &str, data: &T) -> Option<(Self, usize)> {
        let mut value = CommonParser.encode_value(data, Some(event)).ok()?;
        let size = packet_size(&value);
        let arguments = CommonParser.decode_value::<Arguments>(&mut value, false).ok()?;
        Some((arguments, size))
    }

    /// The first argument as a string (an event's name).
    pub fn str_at(&self, index: usize) -> Option<&str> {
        match self.0.get(index)? {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Bytes of a packet: its text and its binary attachments.
pub fn packet_size(value: &socketioxide_core::Value) -> usize {
    match value {
        socketioxide_core::Value::Str(text, bins) => {
            text.len() + bins.as_ref().map_or(0, |bins| bins.iter().map(|b| b.len()).sum())
        }
        socketioxide_core::Value::Bytes(bytes) => bytes.len(),
    }
}

impl Serialize for Arguments {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for argument in &self.0 {
            tuple.serialize_element(argument)?;
        }
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for Arguments {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct All;
        impl<'de> de::Visitor<'de> for All {
            type Value = Arguments;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Arguments, A::Error> {
                let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(argument) = seq.next_element()? {
                    all.push(argument);
                }
                Ok(Arguments(all))
            }
        }
        // A tuple, so socketioxide hands over every argument rather than the first.
        deserializer.deserialize_tuple(usize::MAX, All)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn emits_are_read_as_on_the_wire() {
        // A tuple is spread, a single value is one argument.
        let (spread, size) = Arguments::of_emit("chat message", &("hi", 7)).unwrap();
        assert_eq!(spread.0, vec![Value::String("chat message".into()), Value::String("hi".into()), Value::U64(7)]);
        assert_eq!(size, r#"["chat message","hi",7]"#.len());
        let (single, _) = Arguments::of_emit("rooms:updated", &vec![1, 2]).unwrap();
        assert_eq!(single.0.len(), 2, "the event and one array");
        // Binary stays binary, and is counted.
        let (binary, size) = Arguments::of_emit("binary:pushed", &(Bytes::from_static(&[1, 2, 3]),)).unwrap();
        assert_eq!(binary.0[1], Value::Bytes(vec![1, 2, 3]));
        assert!(size > 3);
    }

    #[test]
    fn spreads_again_when_emitted() {
        let arguments = Arguments(vec![Value::String("a".into()), Value::Bool(true)]);
        let (read, _) = Arguments::of_emit("x", &arguments).unwrap();
        assert_eq!(read.0, vec![Value::String("x".into()), Value::String("a".into()), Value::Bool(true)]);
        assert_eq!(read.str_at(0), Some("x"));
    }

    #[test]
    fn reads_incoming_packets_with_their_attachments() {
        let packet = socketioxide_core::Value::Str(
            r#"["catch-all-listeners",1,{"5":{"_placeholder":true,"num":0}}]"#.into(),
            Some([Bytes::from_static(&[6])].into()),
        );
        let arguments = Arguments::of_packet(&packet).unwrap();
        assert_eq!(arguments.str_at(0), Some("catch-all-listeners"));
        assert_eq!(arguments.0.len(), 3);
        assert_eq!(packet_size(&packet), packet.as_str().unwrap().len() + 1);
    }
}
