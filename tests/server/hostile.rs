//! Hostile input: every malformed packet gets an error ack or a clean close, never a panic
//! and never a stuck socket, and the server goes on serving everyone else.
//!
//! Each case is sent as raw frames on its own connection ([`Raw`]); then that connection
//! must either be closed or still answer a well-formed request, and a well-behaved client
//! connected all along must still chat.

use std::time::Duration;

use socket_chat::protocol::{SentMessage, events};

use crate::raw::{Raw, error_code};
use crate::support::{Client, TestServer, run};

/// What the server must do with a case.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// An error ack (to id 1) with this code, the connection kept.
    ErrorAck(&'static str),
    /// The connection closed.
    Close,
    /// Nothing visible (the packet is ignored), the connection kept.
    Ignored,
}

/// A malformed input: frames sent after CONNECT on `/` (unless `before_connect`).
struct Case {
    name: &'static str,
    frames: Vec<Frame>,
    expect: Expect,
}

enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// A text frame that is not UTF-8.
    RawText(Vec<u8>),
}

fn text(s: impl Into<String>) -> Frame {
    Frame::Text(s.into())
}

fn case(name: &'static str, frames: Vec<Frame>, expect: Expect) -> Case {
    Case { name, frames, expect }
}

fn cases() -> Vec<Case> {
    use Expect::*;
    let deep = format!("421[\"chat message\",{}\"x\"{}]", "[".repeat(5000), "]".repeat(5000));
    let many_args = format!("421[\"chat message\",{}]", vec!["1"; 50].join(","));
    vec![
        // Broken packets: the connection is closed, as the official server does.
        case("bad JSON", vec![text("421[\"chat message\",\"hi\"")], Close),
        case("not UTF-8", vec![Frame::RawText(b"42[\"chat message\",\"\xff\xfe\"]".to_vec())], Close),
        case("unknown Engine.IO packet type", vec![text("9hello")], Close),
        case("unknown Socket.IO packet type", vec![text("49[\"x\"]")], Close),
        case("event name not a string", vec![text("421[42,\"x\"]")], Close),
        case("event with no name", vec![text("421[]")], Close),
        case("event data not an array", vec![text("421{\"a\":1}")], Close),
        // An ack id socketioxide cannot read is dropped: the event is handled, unanswered.
        case("ack id out of range", vec![text("4299999999999999999999999[\"rooms:list\"]")], Ignored),
        case("attachment count out of range", vec![text("4599999999999999999999-1[\"e\"]")], Close),
        case(
            "more attachments than allowed",
            vec![text(format!(
                "4511-1[\"e\",{}]",
                (0..11).map(|n| format!("{{\"_placeholder\":true,\"num\":{n}}}")).collect::<Vec<_>>().join(",")
            ))],
            Close,
        ),
        case("a binary frame nobody announced", vec![Frame::Binary(vec![1, 2, 3])], Close),
        // socketioxide reads event names in place and cannot read one with a JSON escape (a
        // quote, a backslash, \u0000): it closes the connection (README, known limits).
        case("an event name with escapes", vec![text("421[\"a\\\"b\\u0000\"]")], Close),
        case("an event to a namespace never joined", vec![text("42/lab,1[\"binary:echo\"]")], Close),
        case(
            "a frame over the size limit",
            vec![text(format!("421[\"chat message\",\"{}\"]", "x".repeat(70 * 1024)))],
            Close,
        ),
        // Well-formed packets with bad contents: an error ack, the connection kept.
        case(
            "wrong type: a number as the message",
            vec![text("421[\"chat message\",42]")],
            ErrorAck("invalid_arguments"),
        ),
        case(
            "wrong type: an object as a room",
            vec![text("421[\"room:join\",{\"name\":\"a\"}]")],
            ErrorAck("invalid_arguments"),
        ),
        case(
            "wrong type: a string as a history request",
            vec![text("421[\"messages:history\",\"all\"]")],
            ErrorAck("invalid_arguments"),
        ),
        case("huge number", vec![text("421[\"messages:history\",{\"before\":1e400}]")], ErrorAck("invalid_arguments")),
        case(
            "integer overflow",
            vec![text("421[\"messages:history\",{\"before\":99999999999999999999999}]")],
            ErrorAck("invalid_arguments"),
        ),
        case("negative limit", vec![text("421[\"messages:history\",{\"limit\":-1}]")], ErrorAck("invalid_arguments")),
        case("deep nesting", vec![text(deep)], ErrorAck("invalid_arguments")),
        case("too many arguments", vec![text(many_args)], ErrorAck("too_large")),
        case("a lone surrogate", vec![text("421[\"chat message\",\"\\ud800\"]")], ErrorAck("invalid_arguments")),
        case(
            "a control character in a room name",
            vec![text("421[\"room:join\",\"a\\u0000b\"]")],
            ErrorAck("invalid_arguments"),
        ),
        case(
            "a room name too long",
            vec![text(format!("421[\"room:join\",\"{}\"]", "r".repeat(1000)))],
            ErrorAck("invalid_arguments"),
        ),
        case(
            "a placeholder out of range",
            vec![text("451-1[\"chat message\",{\"_placeholder\":true,\"num\":5}]"), Frame::Binary(vec![1])],
            ErrorAck("invalid_arguments"),
        ),
        case(
            "a placeholder that is not one",
            vec![text("421[\"chat message\",{\"_placeholder\":true,\"num\":0}]")],
            ErrorAck("invalid_arguments"),
        ),
        // Packets that mean nothing: ignored, the connection kept.
        case("an ack for an id never sent", vec![text("4377[\"surprise\"]")], Ignored),
        case(
            "a binary ack for an id never sent",
            vec![text("461-77[{\"_placeholder\":true,\"num\":0}]"), Frame::Binary(vec![0])],
            Ignored,
        ),
        case("a pong never asked for", vec![text("3")], Ignored),
    ]
}

/// Sends `case` on a fresh connection; what the server did, when it is not what was expected.
async fn check(server: &TestServer, case: &Case) -> Option<String> {
    let mut raw = Raw::connected(server).await;
    for frame in &case.frames {
        match frame {
            Frame::Text(t) => raw.send(t).await,
            Frame::Binary(b) => raw.send_binary(b).await,
            Frame::RawText(b) => raw.send_raw_text(b).await,
        }
    }
    let failure = match case.expect {
        Expect::ErrorAck(code) => {
            let outcome = raw.outcome(1).await;
            if error_code(&outcome) != Some(code) {
                Some(format!("expected an error ack {code}, got {outcome:?}"))
            } else if !raw.still_serves().await {
                Some("the connection is stuck after the error ack".into())
            } else {
                None
            }
        }
        Expect::Close => {
            (!raw.closes_within(Duration::from_secs(3)).await).then(|| "the connection was not closed".into())
        }
        Expect::Ignored => (!raw.still_serves().await).then(|| "the connection no longer serves".into()),
    };
    failure.map(|f| format!("{}: {f}", case.name))
}

#[test]
fn every_malformed_packet_gets_an_error_ack_or_a_clean_close_and_others_are_served() {
    run(|| async {
        let server = TestServer::start().await;
        let bystander = Client::connect(&server, None).await;
        let mut failures = Vec::new();
        for (n, case) in cases().iter().enumerate() {
            failures.extend(check(&server, case).await);
            // Everyone else is still served, after each case.
            let sent: SentMessage =
                bystander.request(events::CHAT_MESSAGE, &(format!("still here {n}"), format!("b-{n}"))).await.unwrap();
            assert!(sent.server_offset > 0, "{}", case.name);
        }
        assert!(failures.is_empty(), "{failures:#?}");
        let texts = bystander.wait_for(cases().len()).await;
        assert_eq!(texts.len(), cases().len(), "no malformed packet was stored as a message: {texts:?}");
    });
}

#[test]
fn an_event_before_connect_is_not_handled() {
    run(|| async {
        let server = TestServer::start().await;
        let bystander = Client::connect(&server, None).await;
        let mut raw = Raw::open(&server).await;
        raw.send("421[\"chat message\",\"before connect\",\"x-0\"]").await;
        // Either refused with a close, or ignored: never handled.
        if !raw.closes_within(Duration::from_millis(500)).await {
            raw.send("40").await;
            let answer = raw.next_text().await.expect("the CONNECT answer");
            assert!(answer.starts_with("40{"), "{answer}");
            assert!(raw.still_serves().await);
        }
        let _: SentMessage = bystander.request(events::CHAT_MESSAGE, &("after", "b-0")).await.unwrap();
        assert_eq!(bystander.wait_for(1).await, ["after"], "the event sent before CONNECT was not handled");
    });
}

#[test]
fn connecting_to_an_unknown_namespace_or_with_a_broken_auth_is_refused_cleanly() {
    run(|| async {
        let server = TestServer::start().await;
        let mut raw = Raw::open(&server).await;
        raw.send("40/nope,").await;
        let answer = raw.next_text().await.expect("an answer");
        assert!(answer.starts_with("44/nope,"), "a CONNECT error: {answer}");
        // A CONNECT whose auth is broken JSON, or has the wrong types, is accepted without
        // the auth (no replay, no rooms): the socket works.
        for auth in ["{\"serverOffset\":", "{\"serverOffset\":\"zero\",\"rooms\":[1,2]}", "[]", "1e999"] {
            let mut raw = Raw::open(&server).await;
            raw.send(&format!("40{auth}")).await;
            let answer = raw.next_text().await.expect("an answer");
            assert!(answer.starts_with("40{"), "{auth}: {answer}");
            assert!(raw.still_serves().await, "{auth}");
        }
    });
}
