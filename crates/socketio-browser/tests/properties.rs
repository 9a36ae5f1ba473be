//! Property tests of the client's decoding: whatever a server (or anything pretending to be
//! one) sends, decoding returns a packet or an error, never panics; and every packet the
//! client can send decodes back to itself.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Value as Json, json};
use socketio_browser::codec::{self, Decoded, Decoder, PacketData};
use socketio_browser::engine::{EnginePacket, Frame};
use socketioxide_core::Value;
use socketioxide_core::packet::Packet;

/// Text that looks like Socket.IO packets often enough to reach deep into the decoder:
/// a packet type, maybe an attachment count, a namespace, an ack id, then JSON-ish data.
fn packet_like() -> impl Strategy<Value = String> {
    let kind =
        prop_oneof![Just(String::new()), "[0-9]", Just("5".to_owned()), Just("6".to_owned()), Just("4".to_owned())];
    let attachments = prop_oneof![Just(String::new()), "[0-9]{0,25}-", Just("-".to_owned())];
    let ns = prop_oneof![Just(String::new()), "/[a-z,]{0,6},"];
    let id = prop_oneof![Just(String::new()), "[0-9]{1,25}", "-?[0-9]{1,3}"];
    let data = prop_oneof![
        any::<String>(),
        "\\[\"[a-z ]{0,8}\"(,[0-9a-z\"{}\\[\\]:,.e+-]{0,20}){0,4}\\]?",
        "\\{\"(message|_placeholder|num)\":[a-z0-9\"{}\\[\\]:,.-]{0,20}\\}?",
    ];
    (kind, attachments, ns, id, data).prop_map(|(k, a, n, i, d)| format!("{k}{a}{n}{i}{d}"))
}

/// One frame a server could send.
#[derive(Debug, Clone)]
enum AnyFrame {
    Text(String),
    Binary(Vec<u8>),
}

fn frames() -> impl Strategy<Value = Vec<AnyFrame>> {
    let frame = prop_oneof![
        3 => packet_like().prop_map(AnyFrame::Text),
        1 => any::<String>().prop_map(AnyFrame::Text),
        1 => proptest::collection::vec(any::<u8>(), 0..16).prop_map(AnyFrame::Binary),
    ];
    proptest::collection::vec(frame, 1..8)
}

/// JSON arguments: scalars, strings with anything in them, nested arrays and objects.
fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        // Quarters: exact in binary and short in decimal (serde_json's default float parsing
        // is not exact for every 17-digit number, which is not what is tested here).
        any::<i32>().prop_map(|n| json!(f64::from(n) / 4.0)),
        any::<String>().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            proptest::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_frames_decode_or_fail_but_never_panic(frames in frames()) {
        let mut decoder = Decoder::default();
        for frame in frames {
            let _ = match frame {
                AnyFrame::Text(text) => decoder.text(text),
                AnyFrame::Binary(bytes) => decoder.binary(Bytes::from(bytes)),
            };
        }
    }

    #[test]
    fn any_engine_frame_decodes_or_fails_but_never_panics(text in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
        let _ = EnginePacket::decode(Frame::Text(text));
        let _ = EnginePacket::decode(Frame::Text(String::from_utf8_lossy(&bytes).into_owned()));
        let _ = EnginePacket::decode(Frame::Binary(Bytes::from(bytes)));
    }

    #[test]
    fn events_round_trip(
        ns in prop_oneof![Just("/".to_owned()), "/[a-z]{1,8}"],
        event in any::<String>(),
        args in proptest::collection::vec(json(), 0..4),
        id in proptest::option::of(0i64..i64::MAX),
        binaries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..3),
    ) {
        // The arguments as the client emits them: JSON, then each attachment as bytes.
        let mut all: Vec<serde_json::Value> = args.clone();
        let blobs: Vec<Bytes> = binaries.iter().cloned().map(Bytes::from).collect();
        let value = if blobs.is_empty() {
            codec::event_value(&event, &Spread(all.clone())).unwrap()
        } else {
            all.clear();
            codec::event_value(&event, &(args.clone(), blobs.clone())).unwrap()
        };
        let packet = match &value {
            Value::Str(_, Some(_)) => Packet { ns: ns.clone().into(), inner: PacketData::BinaryEvent(value.clone(), id) },
            _ => Packet { ns: ns.clone().into(), inner: PacketData::Event(value.clone(), id) },
        };
        let frames = codec::encode(packet.clone());
        let mut decoder = Decoder::default();
        let mut decoded = None;
        for frame in frames {
            let step = match frame {
                Frame::Text(text) => {
                    // The Engine.IO message prefix `4`, as the transport strips it.
                    let EnginePacket::Message(body) = EnginePacket::decode(Frame::Text(text)).unwrap() else {
                        panic!("a message frame")
                    };
                    decoder.text(body).unwrap()
                }
                Frame::Binary(bytes) => decoder.binary(bytes).unwrap(),
            };
            if let Decoded::Packet(p) = step {
                decoded = Some(p);
            }
        }
        let decoded = decoded.expect("a whole packet");
        prop_assert_eq!(decoded.ns.as_str(), ns.as_str());
        let (mut back, back_id) = match decoded.inner {
            PacketData::Event(v, id) | PacketData::BinaryEvent(v, id) => (v, id),
            other => panic!("an event, got {other:?}"),
        };
        prop_assert_eq!(back_id, id);
        prop_assert_eq!(codec::event_name(&back).unwrap(), event.as_str());
        if blobs.is_empty() {
            let Spread(back_args) = codec::decode_args::<Spread>(&mut back, true).unwrap();
            prop_assert_eq!(back_args, args);
        } else {
            let (back_args, back_blobs): (Vec<Json>, Vec<Bytes>) = codec::decode_args(&mut back, true).unwrap();
            prop_assert_eq!(back_args, args);
            prop_assert_eq!(back_blobs, blobs);
        }
    }
}

/// Arguments as a tuple of any length (socketioxide spreads a tuple into arguments).
#[derive(Debug, PartialEq)]
struct Spread(Vec<Json>);

impl serde::Serialize for Spread {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(self.0.len())?;
        for a in &self.0 {
            t.serialize_element(a)?;
        }
        t.end()
    }
}

impl<'de> serde::Deserialize<'de> for Spread {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct All;
        impl<'de> serde::de::Visitor<'de> for All {
            type Value = Spread;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("arguments")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Spread, A::Error> {
                let mut all = Vec::new();
                while let Some(a) = seq.next_element()? {
                    all.push(a);
                }
                Ok(Spread(all))
            }
        }
        // A tuple, so the parser hands over every argument rather than the first.
        d.deserialize_tuple(usize::MAX, All)
    }
}
