//! Chat messages: what a client sends, what the server acknowledges and broadcasts.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::{Conversation, Target, UserInfo};

/// A stored message, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    /// The server offset: the message's id in the store, increasing with time.
    pub server_offset: i64,
    /// The text.
    pub content: String,
    /// When the server stored it, in milliseconds since the Unix epoch.
    pub sent_at: i64,
    /// The sender's idempotency key, if it gave one.
    pub client_offset: Option<String>,
    /// The room it was sent to; `None` for everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// For a message to everyone but a room: that room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<String>,
    /// Who wrote it; `None` for a client without a session (the tutorial's, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<UserInfo>,
    /// For a private message: the recipient's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl ChatMessage {
    /// The conversation it belongs to, for the user `me` (`None`: a client without a
    /// session): a private message belongs to the conversation with the other user.
    pub fn conversation(&self, me: Option<&str>) -> Conversation {
        match (&self.room, &self.user) {
            (Some(room), _) => Conversation::Room(room.clone()),
            (None, Some(recipient)) => {
                let author = self.author.as_ref().map(|a| a.user_id.as_str());
                let peer = if author == me { recipient.clone() } else { author.unwrap_or_default().to_owned() };
                Conversation::User(peer)
            }
            (None, None) => Conversation::Everyone,
        }
    }

    /// The arguments of the `chat message` broadcast for this message.
    pub fn broadcast_args(&self) -> (&str, i64, MessageMeta<'_>) {
        (
            &self.content,
            self.server_offset,
            MessageMeta {
                sent_at: self.sent_at,
                client_offset: self.client_offset.as_deref().map(Into::into),
                room: self.room.as_deref().map(Into::into),
                except: self.except.as_deref().map(Into::into),
                author: self.author.clone(),
                user: self.user.as_deref().map(Into::into),
            },
        )
    }

    /// Rebuilds a message from the arguments of a `chat message` broadcast.
    pub fn from_broadcast(broadcast: Broadcast) -> Self {
        let Broadcast { content, server_offset, meta } = broadcast;
        let meta = meta.unwrap_or_default();
        Self {
            server_offset,
            content,
            sent_at: meta.sent_at,
            client_offset: meta.client_offset.map(|c| c.into_owned()),
            room: meta.room.map(|r| r.into_owned()),
            except: meta.except.map(|r| r.into_owned()),
            author: meta.author,
            user: meta.user.map(|u| u.into_owned()),
        }
    }
}

/// The arguments of a `chat message` the server sends: `(content, serverOffset, meta?)`.
///
/// Decoded by hand (not as a tuple) so that the tutorial's own server, which sends only
/// `(content, serverOffset)`, is understood too: `meta` is our optional extra.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The text.
    pub content: String,
    /// Where it is stored.
    pub server_offset: i64,
    /// Our third argument, when the server sends it.
    pub meta: Option<MessageMeta<'static>>,
}

impl<'de> Deserialize<'de> for Broadcast {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BroadcastVisitor;
        impl<'de> Visitor<'de> for BroadcastVisitor {
            type Value = Broadcast;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the arguments (content, serverOffset, meta?)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let content = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let server_offset = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let meta = seq.next_element::<Option<MessageMeta<'static>>>()?.flatten();
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Broadcast { content, server_offset, meta })
            }
        }
        // A tuple (not a sequence) so that a Socket.IO decoder spreads every argument into it.
        deserializer.deserialize_tuple(usize::MAX, BroadcastVisitor)
    }
}

/// Third argument of the `chat message` broadcast:
/// `{ "sentAt": 1700000000000, "clientOffset": "…", "room": "…", "except": "…",
/// "author": { "userId", "nickname" }, "user": "<recipient's user id>" }`.
///
/// Clients written for the tutorial read only the first two arguments and ignore it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageMeta<'a> {
    /// Milliseconds since the Unix epoch when the server stored the message (0: unknown,
    /// from a server that does not send it).
    pub sent_at: i64,
    /// The sender's idempotency key, so a sender can match the broadcast to what it sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_offset: Option<Cow<'a, str>>,
    /// The room the message was sent to; absent for everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<Cow<'a, str>>,
    /// For a message to everyone but a room: that room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<Cow<'a, str>>,
    /// Who wrote it, when they had a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<UserInfo>,
    /// For a private message: the recipient's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Cow<'a, str>>,
}

/// Data of a successful `chat message` ack: `{ "serverOffset": 42, "duplicate": false }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    /// Where the message is stored.
    pub server_offset: i64,
    /// True when this client offset had been stored before: the message was not stored or
    /// broadcast again (a retry whose first ack was lost).
    pub duplicate: bool,
}

/// A request for older messages: `{ "room"?: "rust", "user"?: "<user id>", "before"?: 1200,
/// "limit"?: 50 }`: a room's, the private conversation with a user, or (neither) everyone's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    /// The room (which the client must be in); absent for the messages to everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The other user of a private conversation (the client must have a session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Only messages older than this offset; absent for the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// How many, at most [`MAX_HISTORY_PAGE`]; absent for the server's page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The largest page of history a client may ask for.
pub const MAX_HISTORY_PAGE: u32 = 500;

/// A page of history: `{ "messages": [ChatMessage…], "complete": false }`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The messages, oldest first.
    pub messages: Vec<ChatMessage>,
    /// True when there is nothing older.
    pub complete: bool,
}

/// Arguments of a client's `chat message`: `(content, clientOffset?, target?)`.
///
/// Decoded by hand rather than as a tuple so that the tutorial's early clients, which send
/// only the content, are still understood, extra trailing arguments are ignored, and a
/// content that is not a string reaches the handler (which answers with a clear error)
/// instead of failing the whole decode.
#[derive(Debug, Clone, PartialEq)]
pub struct SendMessageArgs {
    /// The text, still to be validated: any JSON value the client sent.
    pub content: serde_json::Value,
    /// The client's idempotency key.
    pub client_offset: Option<String>,
    /// Who the message is for.
    pub target: Target,
}

impl<'de> Deserialize<'de> for SendMessageArgs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = SendMessageArgs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the arguments (content, clientOffset, target)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let content =
                    seq.next_element::<serde_json::Value>()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let client_offset = seq
                    .next_element::<Option<serde_json::Value>>()?
                    .flatten()
                    .map(|v| match v {
                        serde_json::Value::String(s) => Ok(s),
                        // The tutorial builds `${socket.id}-${counter}`; accept numbers too.
                        serde_json::Value::Number(n) => Ok(n.to_string()),
                        _ => Err(de::Error::custom("clientOffset must be a string")),
                    })
                    .transpose()?;
                let target = seq.next_element::<Option<Target>>()?.flatten().unwrap_or_default();
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(SendMessageArgs { content, client_offset, target })
            }
        }
        // A tuple (not a sequence) so that socketioxide spreads every argument into it.
        deserializer.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_accept_content_alone_and_trailing_extras() {
        let one: SendMessageArgs = serde_json::from_str(r#"["hi"]"#).unwrap();
        assert_eq!(one.client_offset, None);
        let three: SendMessageArgs = serde_json::from_str(r#"["hi","c-1",{"to":"r"},{"x":1}]"#).unwrap();
        assert_eq!(three.content, "hi");
        assert_eq!(three.client_offset.as_deref(), Some("c-1"));
        assert_eq!(three.target.to.as_deref(), Some("r"));
        let null_target: SendMessageArgs = serde_json::from_str(r#"["hi","c-1",null]"#).unwrap();
        assert_eq!(null_target.target, Target::default());
    }

    #[test]
    fn args_reject_a_non_string_offset_and_no_arguments() {
        assert!(serde_json::from_str::<SendMessageArgs>(r#"["hi",{"a":1}]"#).is_err());
        assert!(serde_json::from_str::<SendMessageArgs>("[]").is_err());
    }

    #[test]
    fn broadcast_round_trips_through_json() {
        let msg = ChatMessage {
            server_offset: 7,
            content: "hello".into(),
            sent_at: 1,
            client_offset: Some("a-0".into()),
            room: Some("rust".into()),
            except: None,
            author: None,
            user: None,
        };
        let wire = serde_json::to_string(&msg.broadcast_args()).unwrap();
        assert_eq!(wire, r#"["hello",7,{"sentAt":1,"clientOffset":"a-0","room":"rust"}]"#);
        let back = ChatMessage::from_broadcast(serde_json::from_str(&wire).unwrap());
        assert_eq!(back, msg);
    }

    #[test]
    fn the_tutorials_two_argument_broadcast_is_understood() {
        let back = ChatMessage::from_broadcast(serde_json::from_str(r#"["hi",12]"#).unwrap());
        assert_eq!((back.content.as_str(), back.server_offset, back.room), ("hi", 12, None));
        assert!(serde_json::from_str::<Broadcast>(r#"["hi"]"#).is_err());
        assert!(serde_json::from_str::<Broadcast>(r#"[12,"hi"]"#).is_err());
    }
}
