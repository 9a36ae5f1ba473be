//! Payloads of the tutorial's examples: acknowledgements both ways, the catch-all, and the
//! server-to-client ack. `/` and `/lab` answer them alike.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The tutorial's answer to `request` and `request2`: `{ "status": "ok" }` and
/// `{ "status": "ok from request 2" }`. Kept exactly as the tutorial writes it (not our
/// [`AckReply`](crate::AckReply) envelope) so its clients read it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TutorialStatus {
    /// [`REQUEST_STATUS`] or [`REQUEST2_STATUS`].
    pub status: String,
}

/// `status` of the answer to `request`.
pub const REQUEST_STATUS: &str = "ok";
/// `status` of the answer to `request2`.
pub const REQUEST2_STATUS: &str = "ok from request 2";

/// The object of the tutorial's example arguments `({ "foo": "bar" }, "baz")`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Foo {
    /// `"bar"` in the tutorial.
    pub foo: String,
}

/// The tutorial's example arguments of `request` and `request2`: `({ "foo": "bar" }, "baz")`.
/// The server accepts any two arguments, as the tutorial's server does.
pub fn request_example() -> (Foo, &'static str) {
    (Foo { foo: "bar".into() }, "baz")
}

/// Data of the `withhold` ack: `{ "withhold": true }`, inside an
/// [`AckReply`](crate::AckReply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withholding {
    /// Whether `request` and `request2` now go unanswered.
    pub withhold: bool,
}

/// The tutorial's catch-all example arguments: `(1, "2", { "3": "4", "5": <bytes [6]> })`.
pub type CatchAllArgs = (u8, String, CatchAllObject);

/// The object in [`CatchAllArgs`]: a string and a binary attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatchAllObject {
    /// `"4"`.
    #[serde(rename = "3")]
    pub three: String,
    /// `<bytes [6]>`, sent as a binary attachment.
    #[serde(rename = "5")]
    pub five: Bytes,
}

/// The seed's catch-all arguments.
pub fn catch_all_example() -> CatchAllArgs {
    (1, "2".into(), CatchAllObject { three: "4".into(), five: Bytes::from_static(&[6]) })
}

/// Data of the ack the server's catch-all gives an event it has no handler for:
/// `{ "event": "catch-all-listeners" }`, inside an [`AckReply`](crate::AckReply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnhandledEvent {
    /// The event's name.
    pub event: String,
}

/// `rtt:measured`: `{ "ms": 1.2, "echoed": true }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RttMeasured {
    /// Milliseconds between the server's `rtt:probe` and the client's ack.
    pub ms: f64,
    /// Whether the client answered with the token it was sent.
    pub echoed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorial_shapes_are_kept() {
        let status = serde_json::to_string(&TutorialStatus { status: REQUEST_STATUS.into() }).unwrap();
        assert_eq!(status, r#"{"status":"ok"}"#);
        assert_eq!(serde_json::to_string(&request_example()).unwrap(), r#"[{"foo":"bar"},"baz"]"#);
        let measured: RttMeasured = serde_json::from_str(r#"{"ms":1.5,"echoed":true}"#).unwrap();
        assert!(measured.echoed);
    }
}
