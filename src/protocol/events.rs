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
