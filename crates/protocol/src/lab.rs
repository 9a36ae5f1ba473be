//! Payloads of the `/lab` namespace (see [`events::lab`](crate::events::lab)).

use serde::{Deserialize, Serialize};

/// `welcome`, sent on connection: `{ "id": "<socket id>", "auth": <the handshake auth> }`.
/// The server sends back whatever auth it got (`A` = `serde_json::Value`); a client reads
/// it as the type it sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome<A = serde_json::Value> {
    /// The socket id the server gave.
    pub id: String,
    /// The handshake auth the server saw.
    pub auth: A,
}

/// The handshake auth the lab scenario sends: `{ "token": "lab-token" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabAuth {
    /// Any token; the server only echoes it.
    pub token: String,
}

/// Data of the `/lab` `room:join` ack: `{ "room": "lab-room", "members": 1 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabRoomJoined {
    /// The room.
    pub room: String,
    /// Sockets in it now.
    pub members: usize,
}
