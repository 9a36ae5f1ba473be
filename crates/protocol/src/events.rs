//! Event names, each defined once. Both sides import these instead of repeating strings.
//! `docs/PROTOCOL.md` shows every event's arguments and ack on the wire.

/// A chat message.
///
/// - client → server: `["chat message", content, clientOffset, target?]` with an ack; the
///   reply is an [`AckReply`](super::AckReply) carrying a [`SentMessage`](super::SentMessage).
///   `target` is a [`Target`](super::Target): everyone (absent), one room, or everyone but
///   one room.
/// - server → its recipients: `["chat message", content, serverOffset, meta]`, `meta` a
///   [`MessageMeta`](super::MessageMeta).
///
/// The name and the first two arguments both ways are the official Socket.IO tutorial's, so
/// its client page chats with our server unchanged.
pub const CHAT_MESSAGE: &str = "chat message";

/// client → server `({ "room"?: name, "before"?: offset, "limit"?: n })` with an ack: a page
/// of older messages, answered with a [`HistoryPage`](super::HistoryPage). Cursor pagination
/// by offset: pass the oldest offset you have as `before`.
pub const MESSAGES_HISTORY: &str = "messages:history";

/// client → server `(room)` with an ack: joins (creating) a chat room. Answered with a
/// [`JoinedRoom`](super::JoinedRoom): the member count and the room's latest messages.
pub const ROOM_JOIN: &str = "room:join";
/// client → server `(room)` with an ack: leaves a chat room. Answered with a
/// [`RoomInfo`](super::RoomInfo).
pub const ROOM_LEAVE: &str = "room:leave";
/// client → server, with an ack: every chat room with its member count
/// (`Vec<`[`RoomInfo`](super::RoomInfo)`>`).
pub const ROOMS_LIST: &str = "rooms:list";
/// server → everyone, whenever a member count changes: `(Vec<RoomInfo>)`.
pub const ROOMS_UPDATED: &str = "rooms:updated";

/// Typing, a broadcast to everyone but the sender (`socket.broadcast.emit`):
/// client → server `(room?)` (sent `volatile`: dropped, not buffered, while offline);
/// server → the others a [`TypingNotice`](super::TypingNotice), to the room's members when a
/// room is given (the sender must be in it), else to everyone.
pub const TYPING: &str = "typing";

/// client → server `(nickname)` with an ack: chooses (or changes) the socket's nickname.
/// A socket without a session gets one: the ack's [`AckReply`](super::AckReply) carries an
/// [`Identity`](super::Identity) with the session id to keep and give back in the handshake
/// auth. Everyone then receives [`USER_RENAMED`].
pub const USER_NICKNAME: &str = "user:nickname";
/// server → everyone: a [`UserInfo`](super::UserInfo) with a new nickname.
pub const USER_RENAMED: &str = "user:renamed";
/// server → a socket that just connected: a [`SessionState`](super::SessionState), who the
/// server takes it for (nobody, without a known session id).
pub const SESSION: &str = "session";
/// server → everyone, whenever who is online (or in which room) changes, and to a socket
/// when it connects: a [`Presence`](super::Presence). A user whose last socket went is
/// removed only after a grace period, so a reload is not a departure.
pub const PRESENCE: &str = "presence";
/// client → server `(ReadMark)` with an ack: everything up to the offset is read in that
/// conversation (the server keeps the highest). The user's other sockets receive
/// [`READ_MARKED`] with the same [`ReadMark`](super::ReadMark).
pub const READ_MARK: &str = "read:mark";
/// server → the other sockets of a user: a [`ReadMark`](super::ReadMark).
pub const READ_MARKED: &str = "read:marked";
/// client → server, with an ack: the user's unread counts, a `Vec<`[`UnreadCount`](super::UnreadCount)`>`:
/// everyone, each room the socket is in, each private conversation.
pub const UNREAD_LIST: &str = "unread:list";

/// The tutorial's acknowledgement, callback flavour: client → server `(arg1, arg2)` with
/// an ack, answered `{ "status": "ok" }` (a [`TutorialStatus`](super::tutorial::TutorialStatus)).
/// The server logs both arguments.
pub const REQUEST: &str = "request";
/// The tutorial's acknowledgement, promise flavour: answered `{ "status": "ok from request 2" }`.
pub const REQUEST2: &str = "request2";
/// client → server `(withhold: bool)` with an ack: while true, [`REQUEST`] and
/// [`REQUEST2`] are not acknowledged, so the client sees its timeout. Answered with an
/// [`AckReply`](super::AckReply) of [`Withholding`](super::tutorial::Withholding).
pub const WITHHOLD: &str = "withhold";
/// The tutorial's catch-all example: client → server
/// `(1, "2", { "3": "4", "5": <bytes [6]> })` ([`CatchAllArgs`](super::tutorial::CatchAllArgs)).
/// It has no handler: the server's catch-all logs it and acks an
/// [`AckReply`](super::AckReply) of [`UnhandledEvent`](super::tutorial::UnhandledEvent) when asked.
pub const CATCH_ALL: &str = "catch-all-listeners";
/// client → server: asks the server to measure the round trip. The server emits
/// [`RTT_PROBE`] asking for an ack, then [`RTT_MEASURED`].
pub const RTT: &str = "rtt";
/// server → client `(token)` with an ack: a server-to-client acknowledgement; the client
/// answers `(token)`.
pub const RTT_PROBE: &str = "rtt:probe";
/// server → client an [`RttMeasured`](super::tutorial::RttMeasured).
pub const RTT_MEASURED: &str = "rtt:measured";

/// The `/lab` namespace: the tutorial's examples one by one, for developers and for the
/// client conformance scenario, which runs them against our server and against the
/// official Node.js server (`end2end/peers/official-server.cjs` implements the same
/// namespace). Besides these, `/lab` answers [`REQUEST`], [`REQUEST2`], [`WITHHOLD`],
/// [`RTT`], [`ROOM_JOIN`] and the catch-all as `/` does.
pub mod lab {
    /// The playground's namespace.
    pub const NAMESPACE: &str = "/lab";
    /// server → client on connection: a [`Welcome`](crate::lab::Welcome) with the socket id
    /// and the handshake auth.
    pub const WELCOME: &str = "welcome";
    /// client → server `(bytes)` with an ack: answered with the bytes reversed; the server
    /// also emits [`BINARY_PUSHED`] with the original bytes.
    pub const BINARY_ECHO: &str = "binary:echo";
    /// server → client `(bytes)`.
    pub const BINARY_PUSHED: &str = "binary:pushed";
    /// client → server `(room, text)`: the server emits [`ROOM_SHOUTED`] to the room.
    pub const ROOM_SHOUT: &str = "room:shout";
    /// server → every socket in a room `(room, text)`.
    pub const ROOM_SHOUTED: &str = "room:shouted";
    /// client → server: the server disconnects the socket (a server-initiated disconnect).
    pub const KICK: &str = "kick";
}

/// The `/admin` namespace of the official Socket.IO Admin UI (npm `@socket.io/admin-ui`
/// 0.5.1, whose `dist/index.js` defines the protocol). It exists only when the server has an
/// admin user. Payloads are the types of [`crate::admin`].
pub mod admin {
    /// The namespace the UI connects to (its default).
    pub const NAMESPACE: &str = "/admin";

    /// server → admin, once after a login with a password: `(sessionId)`; the UI reconnects
    /// later with `auth: { sessionId }` instead of the password.
    pub const SESSION: &str = "session";
    /// server → admin on connection: `(`[`AdminConfig`](crate::admin::AdminConfig)`)`.
    pub const CONFIG: &str = "config";
    /// server → admins every 2 s: `(`[`ServerStats`](crate::admin::ServerStats)`)`.
    pub const SERVER_STATS: &str = "server_stats";
    /// server → admin on connection, development mode:
    /// `([`[`SerializedSocket`](crate::admin::SerializedSocket)`…])`, every socket of every namespace.
    pub const ALL_SOCKETS: &str = "all_sockets";
    /// server → admins, development mode: `(SerializedSocket, timestamp)`.
    pub const SOCKET_CONNECTED: &str = "socket_connected";
    /// server → admins, development mode: `(`[`SocketUpdate`](crate::admin::SocketUpdate)`)`,
    /// e.g. a transport upgrade.
    pub const SOCKET_UPDATED: &str = "socket_updated";
    /// server → admins, development mode: `(nsp, socketId, reason, timestamp)`.
    pub const SOCKET_DISCONNECTED: &str = "socket_disconnected";
    /// server → admins, development mode: `(nsp, room, socketId, timestamp)`.
    pub const ROOM_JOINED: &str = "room_joined";
    /// server → admins, development mode: `(nsp, room, socketId, timestamp)`.
    pub const ROOM_LEFT: &str = "room_left";
    /// server → admins, development mode: `(nsp, socketId, [event, ...args], timestamp)`,
    /// for every event a socket of another namespace sent.
    pub const EVENT_RECEIVED: &str = "event_received";
    /// server → admins, development mode: `(nsp, socketId, [event, ...args], timestamp)`,
    /// for every event sent to a socket of another namespace.
    pub const EVENT_SENT: &str = "event_sent";

    /// admin → server `(nsp, filter?, event, ...args)`: emits to the namespace, or to the
    /// sockets of room (or socket id) `filter`.
    pub const EMIT: &str = "emit";
    /// admin → server `(nsp, room, filter?)`: the matching sockets join `room`.
    pub const JOIN: &str = "join";
    /// admin → server `(nsp, room, filter?)`: the matching sockets leave `room`.
    pub const LEAVE: &str = "leave";
    /// admin → server `(nsp, close, filter?)`: disconnects the matching sockets; `close`
    /// closes their whole connection (every namespace).
    pub const DISCONNECT: &str = "_disconnect";

    /// The connect error a wrong user name, password or session gets (the UI shows its own
    /// message for exactly this text).
    pub const INVALID_CREDENTIALS: &str = "invalid credentials";
}
