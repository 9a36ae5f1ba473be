//! "Someone is typing": see [`TYPING`](crate::events::TYPING).

use serde::{Deserialize, Serialize};

/// What the others receive: `{ "id": "<sender's socket id>", "room": "rust", "nickname": "Ada" }`,
/// `room` `null` for the conversation with everyone, `nickname` absent for an anonymous sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingNotice {
    /// The sender's socket id.
    pub id: String,
    /// Where they are typing.
    #[serde(default)]
    pub room: Option<String>,
    /// Who, when they have chosen a nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
}
