//! The Socket.IO protocol of socket-chat, shared by the server and the browser.
//!
//! Every event is named once, in [`events`], and every payload is a type here. The whole
//! protocol, with examples of each frame, is written down in `docs/PROTOCOL.md`.

#![warn(missing_docs)]

pub mod ack;
pub mod admin;
pub mod auth;
pub mod events;
pub mod lab;
pub mod message;
pub mod presence;
pub mod read;
pub mod room;
pub mod tutorial;
pub mod typing;
pub mod user;

pub use ack::{AckError, AckErrorCode, AckReply, RetryLater, RetryLaterReply};
pub use auth::HandshakeAuth;
pub use message::{Broadcast, ChatMessage, HistoryPage, HistoryRequest, MessageMeta, SendMessageArgs, SentMessage};
pub use presence::{OnlineUser, Presence};
pub use read::{Conversation, ReadMark, UnreadCount};
pub use room::{JoinedRoom, RoomInfo, Target};
pub use typing::TypingNotice;
pub use user::{Identity, SessionState, UserInfo};
