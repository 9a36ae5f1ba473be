//! Event names, each defined once. Both sides import these instead of repeating strings.

/// A chat message.
///
/// - client → server: `["chat message", content: string, clientOffset: string]` with an
///   ack; the reply is an [`AckReply`](super::AckReply) carrying a
///   [`SentMessage`](super::SentMessage).
/// - server → every client (the sender included):
///   `["chat message", content: string, serverOffset: integer, meta: MessageMeta]`.
///
/// The names and the first two arguments are those of the official Socket.IO tutorial, so
/// its client page chats with our server unchanged.
pub const CHAT_MESSAGE: &str = "chat message";

/// The `/lab` namespace: the Socket.IO tutorial's examples one by one, each a handler.
///
/// Developers try them from the app's panels; the client conformance scenario runs them
/// against our server and against the official Node.js server (which implements the same
/// namespace in `end2end/peers/official-server.cjs`). See `docs/PROTOCOL.md`.
pub mod lab {
    /// The playground's namespace.
    pub const NAMESPACE: &str = "/lab";
    /// server → client on connection: `{ "id": socket id, "auth": the handshake auth }`.
    pub const WELCOME: &str = "welcome";
    /// client → server `(arg1, arg2)` with an ack: answered `{ "status": "ok" }`.
    pub const REQUEST: &str = "request";
    /// client → server `(arg1, arg2)` with an ack: answered `{ "status": "ok from request 2" }`.
    pub const REQUEST2: &str = "request2";
    /// client → server `(withhold: bool)`: while true, `request` and `request2` get no ack,
    /// so the client sees its timeout.
    pub const WITHHOLD: &str = "withhold";
    /// client → server `(bytes)` with an ack: answered with the bytes reversed; the server
    /// also emits [`BINARY_PUSHED`] with the original bytes.
    pub const BINARY_ECHO: &str = "binary:echo";
    /// server → client `(bytes)`.
    pub const BINARY_PUSHED: &str = "binary:pushed";
    /// client → server `(room)` with an ack `{ "status": "ok", "data": { "room", "members" } }`.
    pub const ROOM_JOIN: &str = "room:join";
    /// client → server `(room, text)`: the server emits [`ROOM_SHOUTED`] to the room.
    pub const ROOM_SHOUT: &str = "room:shout";
    /// server → every socket in a room `(room, text)`.
    pub const ROOM_SHOUTED: &str = "room:shouted";
    /// client → server: the server emits [`RTT_PROBE`] with an ack, then [`RTT_MEASURED`].
    pub const RTT: &str = "rtt";
    /// server → client `(token)` asking for an ack that returns the token.
    pub const RTT_PROBE: &str = "rtt:probe";
    /// server → client `({ "ms": round-trip time, "echoed": bool })`.
    pub const RTT_MEASURED: &str = "rtt:measured";
    /// client → server: the server disconnects the socket (a server-initiated disconnect).
    pub const KICK: &str = "kick";
}
