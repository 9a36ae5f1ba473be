//! "Someone is typing": see [`TYPING`](crate::events::TYPING).

use serde::{Deserialize, Serialize};

/// What the others receive: `{ "id": "<sender's socket id>", "room": "rust" }`, `room`
/// `null` for the conversation with everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingNotice {
    /// The sender's socket id.
    pub id: String,
    /// Where they are typing.
    #[serde(default)]
    pub room: Option<String>,
}
