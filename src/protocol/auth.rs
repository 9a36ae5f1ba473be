//! The handshake payload a client sends in its Socket.IO CONNECT packet.

use serde::{Deserialize, Serialize};

/// `auth` of the CONNECT packet: `{ "serverOffset": 42 }`.
///
/// `serverOffset` is the id of the last message the client has; on connection the server
/// replays every stored message after it (the tutorial's "server delivery"). A client that
/// sends no auth, or no offset, gets no replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandshakeAuth {
    /// The last server offset the client has seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_offset: Option<i64>,
}
