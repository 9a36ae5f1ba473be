//! Unread counts: a last-read offset per user and conversation, kept by the server so
//! that every tab and device of a session agrees.

use serde::{Deserialize, Serialize};

use crate::UserInfo;

/// One conversation: the one with everyone, a chat room, or the private conversation with
/// a user. On the wire: `"everyone"`, `{ "room": "rust" }`, `{ "user": "<user id>" }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Conversation {
    /// Messages to everyone (and to everyone but a room).
    Everyone,
    /// A chat room.
    Room(String),
    /// Private messages with this user (by id).
    User(String),
}

/// `read:mark` (client → server) and `read:marked` (server → the user's other sockets):
/// `{ "conversation": …, "offset": 42 }`: everything up to `offset` is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMark {
    /// Where.
    pub conversation: Conversation,
    /// The last offset seen there.
    pub offset: i64,
}

/// One line of `unread:list`: `{ "conversation", "count", "lastRead", "peer"? }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnreadCount {
    /// Where.
    pub conversation: Conversation,
    /// Messages from others after `last_read`.
    pub count: u32,
    /// The user's last-read offset there (0: nothing read yet).
    pub last_read: i64,
    /// For a private conversation: who it is with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<UserInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversations_on_the_wire() {
        let all = [Conversation::Everyone, Conversation::Room("rust".into()), Conversation::User("u1".into())];
        let wire = serde_json::to_string(&all).unwrap();
        assert_eq!(wire, r#"["everyone",{"room":"rust"},{"user":"u1"}]"#);
        assert_eq!(serde_json::from_str::<Vec<Conversation>>(&wire).unwrap(), all);
        assert!(serde_json::from_str::<Conversation>(r#"{"lobby":"x"}"#).is_err());
    }
}
