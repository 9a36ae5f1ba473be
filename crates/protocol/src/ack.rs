//! The one envelope every acknowledgement of ours uses.

use serde::{Deserialize, Serialize};

/// The reply to any request that asked for an ack.
///
/// Wire format (JSON), one shape for every event:
/// - success: `{ "status": "ok", "data": <T> }`
/// - failure: `{ "status": "error", "error": { "code": "too_long", "message": "…" } }`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum AckReply<T> {
    /// The request was carried out.
    Ok {
        /// What the request produced.
        data: T,
    },
    /// The request was refused; nothing was changed.
    Error {
        /// Why.
        error: AckError,
    },
}

impl<T> AckReply<T> {
    /// A failure reply.
    pub fn error(code: AckErrorCode, message: impl Into<String>) -> Self {
        Self::Error { error: AckError { code, message: message.into() } }
    }

    /// The reply as a `Result`.
    pub fn into_result(self) -> Result<T, AckError> {
        match self {
            Self::Ok { data } => Ok(data),
            Self::Error { error } => Err(error),
        }
    }
}

impl<T> From<AckError> for AckReply<T> {
    fn from(error: AckError) -> Self {
        Self::Error { error }
    }
}

/// A refused request: a stable code for programs, a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AckError {
    /// Stable, machine-readable reason.
    pub code: AckErrorCode,
    /// Human-readable explanation, shown as is in the UI.
    pub message: String,
}

/// Stable error codes of [`AckError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckErrorCode {
    /// The arguments do not have the documented types.
    InvalidArguments,
    /// The message has no text.
    Empty,
    /// The message is over the server's size limit.
    TooLong,
    /// The server could not carry out the request (storage unavailable, shutting down).
    Unavailable,
    /// The sender is not in the room it sends to.
    NotAMember,
    /// The request needs a session (a nickname): private messages, unread counts.
    NoSession,
    /// No such user (the recipient of a private message).
    UnknownUser,
    /// An admin command on a server whose admin namespace is read-only.
    ReadOnly,
    /// An admin command for a namespace the server does not have.
    UnknownNamespace,
    /// The event has more arguments, or more binary attachments, than the server takes
    /// (`--max-event-args`, `--max-binary-attachments`).
    TooLarge,
    /// The sender sent too many events too fast (per socket or per IP address); the error
    /// carries `retryAfterMs` ([`RetryLater`]). A sender that keeps going is disconnected.
    RateLimited,
    /// The socket is in as many rooms as the server allows (`--max-rooms-per-socket`).
    TooManyRooms,
    /// The server has as many connections from this address as it allows
    /// (`--max-connections-per-ip`); sent as the CONNECT error's message.
    TooManyConnections,
}

/// The error of a request refused for now, with when to try again:
/// `{ "status": "error", "error": { "code": "rate_limited", "message": "…", "retryAfterMs": 250 } }`.
///
/// A client reading it as [`AckError`] sees the code and the message (the extra field is
/// ignored); one that wants to wait reads it as this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryLater {
    /// Why ([`AckErrorCode::RateLimited`]).
    pub code: AckErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// Milliseconds until the request would be accepted.
    pub retry_after_ms: u64,
}

/// The whole reply of a [`RetryLater`]: `{ "status": "error", "error": { … } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryLaterReply {
    /// Always `"error"`.
    pub status: String,
    /// Why, and when to try again.
    pub error: RetryLater,
}

impl From<RetryLater> for RetryLaterReply {
    fn from(error: RetryLater) -> Self {
        Self { status: "error".into(), error }
    }
}
