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
}
