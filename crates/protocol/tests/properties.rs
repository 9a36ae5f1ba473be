//! Property tests of what the server parses: any text through socketioxide's parser (as
//! the server configures it), then through our payload types, gives a value or an error,
//! never a panic; room names that pass are what the protocol says they are; our payloads
//! round-trip through the wire format.

use proptest::prelude::*;
use socket_chat_protocol::room::{MAX_ROOM_NAME_CHARS, is_forbidden_in_room_name, room_name};
use socket_chat_protocol::{AckReply, HandshakeAuth, HistoryRequest, SendMessageArgs, SentMessage, Target};
use socketioxide_core::Value;
use socketioxide_core::packet::PacketData;
use socketioxide_core::parser::{Parse, ParseConfig, ParserState};
use socketioxide_parser_common::CommonParser;

/// JSON-ish text: often valid, often nearly so, sometimes anything.
fn json_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\[\\]{}\",:0-9a-zA-Z_ .eE+\\\\-]{0,40}",
        "\\{(\"(to|except|user|room|before|limit|serverOffset|rooms|sessionId)\":[a-z0-9\"\\[\\]{},.eE+-]{0,12},?){0,4}\\}",
        "(-?[0-9]{1,30}(\\.[0-9]{0,5})?(e[+-]?[0-9]{1,4})?|true|null|\"[^\"]{0,10}\")",
    ]
}

/// An EVENT packet's text, `2[/ns,][id]["event", args…]`, with hostile parts.
fn event_packet() -> impl Strategy<Value = String> {
    let ns = prop_oneof![Just(String::new()), "/[a-z]{0,5},"];
    let id = prop_oneof![Just(String::new()), "[0-9]{1,25}"];
    let event = prop_oneof![
        Just("\"chat message\"".to_owned()),
        Just("\"room:join\"".to_owned()),
        Just("\"messages:history\"".to_owned()),
        "\"[^\"\\\\]{0,8}\"",
        "[0-9a-z{}\\[\\]]{0,4}",
    ];
    let args = proptest::collection::vec(json_like(), 0..5);
    (ns, id, event, args).prop_map(|(ns, id, event, args)| {
        let mut all = vec![event];
        all.extend(args);
        format!("2{ns}{id}[{}]", all.join(","))
    })
}

/// The server's parser, as socketioxide runs it on every text frame.
fn parse(text: String) -> Option<Value> {
    let packet = CommonParser.decode_str(&ParseConfig::default(), &ParserState::default(), text.into()).ok()?;
    match packet.inner {
        PacketData::Event(value, _) | PacketData::BinaryEvent(value, _) => Some(value),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_text_parses_or_fails_but_never_panics(text in prop_oneof![any::<String>(), event_packet(), "[0-9]{1,3}.{0,20}"]) {
        let _ = CommonParser.decode_str(&ParseConfig::default(), &ParserState::default(), text.into());
    }

    #[test]
    fn any_event_reads_as_our_payloads_or_fails_but_never_panics(text in event_packet()) {
        let Some(value) = parse(text) else { return Ok(()) };
        let _ = CommonParser.read_event(&value);
        let _ = CommonParser.decode_value::<SendMessageArgs>(&mut value.clone(), true);
        let _ = CommonParser.decode_value::<HistoryRequest>(&mut value.clone(), true);
        let _ = CommonParser.decode_value::<Target>(&mut value.clone(), true);
        let _ = CommonParser.decode_value::<Option<String>>(&mut value.clone(), true);
        if let Ok(name) = CommonParser.decode_value::<String>(&mut value.clone(), true) {
            let _ = room_name(&name);
        }
    }

    #[test]
    fn any_auth_reads_or_fails_but_never_panics(text in json_like()) {
        let _ = CommonParser.decode_default::<HandshakeAuth>(Some(&Value::Str(text.into(), None)));
    }

    #[test]
    fn accepted_room_names_are_trimmed_bounded_and_clean(name in any::<String>()) {
        if let Ok(room) = room_name(&name) {
            prop_assert_eq!(room.as_str(), room.trim());
            prop_assert!(!room.is_empty());
            prop_assert!(room.chars().count() <= MAX_ROOM_NAME_CHARS);
            prop_assert!(!room.chars().any(is_forbidden_in_room_name));
        }
    }

    #[test]
    fn payloads_round_trip(
        content in any::<String>(),
        client_offset in proptest::option::of(any::<String>()),
        to in proptest::option::of(any::<String>()),
        server_offset in any::<i64>(),
        duplicate in any::<bool>(),
    ) {
        let target = Target { to, except: None, user: None };
        let wire = serde_json::to_string(&(&content, &client_offset, &target)).unwrap();
        let args: SendMessageArgs = serde_json::from_str(&wire).unwrap();
        prop_assert_eq!(args.content, serde_json::Value::String(content));
        prop_assert_eq!(args.client_offset, client_offset);
        prop_assert_eq!(args.target, target);
        let reply = AckReply::Ok { data: SentMessage { server_offset, duplicate } };
        let back: AckReply<SentMessage> = serde_json::from_str(&serde_json::to_string(&reply).unwrap()).unwrap();
        prop_assert_eq!(back, reply);
    }
}
