//! Arguments as people read them: JSON, pretty-printed, with binary shown as bytes.
//!
//! `serde_json::Value` cannot hold bytes, so the arguments are read into [`Shown`], which
//! can, then printed.

use std::fmt::{self, Write};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::Payload;

/// A decoded argument: JSON plus bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string.
    String(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// An array.
    Array(Vec<Shown>),
    /// An object, in order.
    Object(Vec<(String, Shown)>),
}

struct ShownVisitor;

impl<'de> Visitor<'de> for ShownVisitor {
    type Value = Shown;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E>(self) -> Result<Shown, E> {
        Ok(Shown::Null)
    }
    fn visit_none<E>(self) -> Result<Shown, E> {
        Ok(Shown::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shown, D::Error> {
        Shown::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Shown, E> {
        Ok(Shown::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Shown, E> {
        Ok(Shown::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Shown, E> {
        Ok(Shown::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Shown, E> {
        Ok(Shown::Number(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Shown, E> {
        Ok(Shown::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Shown, E> {
        Ok(Shown::String(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Shown, E> {
        Ok(Shown::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Shown, E> {
        Ok(Shown::Bytes(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shown, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Shown::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shown, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Shown>()? {
            entries.push((k, v));
        }
        Ok(Shown::Object(entries))
    }
}

impl<'de> Deserialize<'de> for Shown {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShownVisitor)
    }
}

/// Every argument of an event or ack (a "tuple" of any length, so the parser hands over
/// all of them, not just the first).
struct AllArgs(Vec<Shown>);

impl<'de> Deserialize<'de> for AllArgs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = AllArgs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AllArgs, A::Error> {
                let mut args = Vec::new();
                while let Some(arg) = seq.next_element()? {
                    args.push(arg);
                }
                Ok(AllArgs(args))
            }
            fn visit_unit<E: de::Error>(self) -> Result<AllArgs, E> {
                Ok(AllArgs(Vec::new()))
            }
        }
        d.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}

/// Every argument of `payload`, decoded for display.
pub fn arguments(payload: &Payload) -> Vec<Shown> {
    payload.decode::<AllArgs>().map(|a| a.0).unwrap_or_else(|e| vec![Shown::String(format!("<undecodable: {e}>"))])
}

impl Shown {
    /// Indented, JSON-like text; bytes as `<bytes 06 07>`.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(0));
        out
    }

    /// The same on one line.
    pub fn inline(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out
    }

    /// `depth` is the indentation level, `None` for one line.
    fn write(&self, out: &mut String, depth: Option<usize>) {
        let pad = |out: &mut String, depth: Option<usize>| {
            if let Some(depth) = depth {
                out.push_str(&"  ".repeat(depth));
            }
        };
        let (open_sep, item_sep, close_sep) = if depth.is_some() { ("\n", ",\n", "\n") } else { ("", ", ", "") };
        let inner = depth.map(|d| d + 1);
        match self {
            Shown::Null => out.push_str("null"),
            Shown::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Shown::Number(n) => out.push_str(n),
            Shown::String(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            Shown::Bytes(bytes) => {
                out.push_str("<bytes");
                for b in bytes {
                    let _ = write!(out, " {b:02x}");
                }
                out.push('>');
            }
            Shown::Array(items) if items.is_empty() => out.push_str("[]"),
            Shown::Array(items) => {
                out.push('[');
                out.push_str(open_sep);
                for (i, item) in items.iter().enumerate() {
                    pad(out, inner);
                    item.write(out, inner);
                    out.push_str(if i + 1 < items.len() { item_sep } else { close_sep });
                }
                pad(out, depth);
                out.push(']');
            }
            Shown::Object(entries) if entries.is_empty() => out.push_str("{}"),
            Shown::Object(entries) => {
                out.push('{');
                out.push_str(open_sep);
                for (i, (key, value)) in entries.iter().enumerate() {
                    pad(out, inner);
                    out.push_str(&serde_json::to_string(key).unwrap_or_default());
                    out.push_str(": ");
                    value.write(out, inner);
                    out.push_str(if i + 1 < entries.len() { item_sep } else { close_sep });
                }
                pad(out, depth);
                out.push('}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use socketioxide_core::packet::{Packet, PacketData};

    #[test]
    fn the_seed_catch_all_shows_its_bytes() {
        let args = (1, "2", serde_json::json!({ "3": "4" }), bytes::Bytes::from_static(&[6]));
        let frames = codec::encode(Packet::event("/", codec::event_value("catch-all-listeners", &args).unwrap()));
        let mut decoder = codec::Decoder::default();
        let mut packet = None;
        for frame in frames {
            packet = Some(match frame {
                crate::engine::Frame::Text(t) => decoder.text(t[1..].to_owned()).unwrap(),
                crate::engine::Frame::Binary(b) => decoder.binary(b).unwrap(),
            });
        }
        let Some(codec::Decoded::Packet(Packet { inner: PacketData::BinaryEvent(value, _), .. })) = packet else {
            panic!("expected a binary event")
        };
        let shown = arguments(&Payload::new(value, true));
        assert_eq!(shown.len(), 4);
        assert_eq!(shown[3], Shown::Bytes(vec![6]));
        let all = Shown::Array(shown);
        assert_eq!(all.pretty(), "[\n  1,\n  \"2\",\n  {\n    \"3\": \"4\"\n  },\n  <bytes 06>\n]");
        assert_eq!(all.inline(), r#"[1, "2", {"3": "4"}, <bytes 06>]"#);
    }
}
