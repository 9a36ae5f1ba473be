//! Payloads of the Socket.IO Admin UI's `/admin` namespace ([`crate::events::admin`]).
//!
//! The shapes are those `@socket.io/admin-ui` 0.5.1 (`dist/index.js`, `dist/typed-events.d.ts`)
//! sends and its UI reads; field names are camelCase on the wire. Timestamps of the
//! `socket_*`, `room_*` and `event_*` events are ISO 8601 strings (what a JavaScript `Date`
//! becomes in JSON); those of aggregated events are milliseconds since the Unix epoch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `auth` of the admin's CONNECT: a user and password, or the session the server gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminAuth {
    /// The admin user's name.
    #[serde(default)]
    pub username: Option<String>,
    /// Its password, checked against the configured bcrypt hash.
    #[serde(default)]
    pub password: Option<String>,
    /// A session id from an earlier [`SESSION`](crate::events::admin::SESSION) event.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// What the server supports; the UI hides what is not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Feature {
    /// The `emit` command.
    Emit,
    /// The `join` command for one socket.
    Join,
    /// The `leave` command for one socket.
    Leave,
    /// The `_disconnect` command for one socket.
    Disconnect,
    /// `join` for every socket of a namespace or room.
    Mjoin,
    /// `leave` for every socket of a namespace or room.
    Mleave,
    /// `_disconnect` for every socket of a namespace or room.
    Mdisconnect,
    /// `server_stats` carries aggregated events (connections, packets, bytes).
    AggregatedEvents,
    /// Development mode: sockets, rooms and every event are sent one by one.
    AllEvents,
}

/// `config`: `{ "supportedFeatures": ["EMIT", …] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminConfig {
    /// The features, in the order the Node.js package lists them.
    pub supported_features: Vec<Feature>,
}

/// `server_stats`, every 2 s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStats {
    /// This server's id (the host name unless configured): the UI lists one row per id.
    pub server_id: String,
    /// The host name.
    pub hostname: String,
    /// The process id.
    pub pid: u32,
    /// Seconds since the server started.
    pub uptime: f64,
    /// Connections (Engine.IO clients), whatever their namespaces.
    pub clients_count: usize,
    /// Connections still on HTTP long-polling.
    pub polling_clients_count: usize,
    /// What happened since the last `server_stats`, per second.
    pub aggregated_events: Vec<AggregatedEvent>,
    /// Every namespace with its socket count.
    pub namespaces: Vec<NamespaceDetails>,
}

/// A namespace and its socket count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceDetails {
    /// e.g. `/`.
    pub name: String,
    /// Sockets connected to it.
    pub sockets_count: usize,
}

/// Kinds of aggregated events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AggregatedKind {
    /// A new connection.
    RawConnection,
    /// A connection closed.
    RawDisconnection,
    /// Packets received.
    PacketsIn,
    /// Packets sent.
    PacketsOut,
    /// Bytes received.
    BytesIn,
    /// Bytes sent.
    BytesOut,
}

/// A count of one kind of event within one second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedEvent {
    /// The second, in ms since the Unix epoch.
    pub timestamp: i64,
    /// What was counted.
    #[serde(rename = "type")]
    pub kind: AggregatedKind,
    /// e.g. the reason of a disconnection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    /// How many (or how many bytes).
    pub count: u64,
}

/// A socket as the UI lists it (`all_sockets`, `socket_connected`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SerializedSocket {
    /// The socket id.
    pub id: String,
    /// Its connection's id (12 characters): the sockets of one connection share it.
    pub client_id: String,
    /// `polling` or `websocket`.
    pub transport: String,
    /// Its namespace.
    pub nsp: String,
    /// `socket.data` (always `{}` here: socketioxide has no such field).
    pub data: serde_json::Value,
    /// The request that opened the connection.
    pub handshake: Handshake,
    /// Its rooms, its own id (its private room) first.
    pub rooms: Vec<String>,
}

/// The handshake of [`SerializedSocket`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// `cf-connecting-ip`, else `x-forwarded-for`, else the peer's IP address.
    pub address: String,
    /// The request headers, names in lower case, repeated values joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The query string's parameters.
    pub query: BTreeMap<String, String>,
    /// When the socket was created, in ms since the Unix epoch.
    pub issued: i64,
    /// Whether the connection is TLS.
    pub secure: bool,
    /// `issued` as a date for people.
    pub time: String,
    /// The request's path and query.
    pub url: String,
    /// Whether the request came from another origin.
    pub xdomain: bool,
}

/// `socket_updated`: what changed about a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocketUpdate {
    /// The socket id.
    pub id: String,
    /// Its namespace.
    pub nsp: String,
    /// Its new transport.
    pub transport: String,
}

/// What the commands (`emit`, `join`, `leave`, `_disconnect`) answer when the admin asked
/// for an ack (the official UI never does): the number of sockets acted on, in an
/// [`AckReply`](crate::AckReply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandDone {
    /// Sockets that matched the namespace and filter.
    pub sockets: usize,
}
