//! The handshake payload a client sends in its Socket.IO CONNECT packet.

use serde::{Deserialize, Serialize};

/// `auth` of the CONNECT packet: `{ "serverOffset": 42, "rooms": ["rust"], "sessionId": "…" }`.
///
/// `serverOffset` is the id of the last message the client has; on connection the server
/// replays every stored message after it that the client may see (the tutorial's "server
/// delivery"). `rooms` are the chat rooms the client was in: the server puts it back in
/// them first. A client that sends no auth, or no offset, gets no replay. `sessionId` is the
/// secret the server gave with the client's nickname ([`Identity`](crate::Identity)): the
/// socket acts as that user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandshakeAuth {
    /// The last server offset the client has seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_offset: Option<i64>,
    /// Chat rooms to (re)join.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<String>,
    /// Who the client is, if it has a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}
