//! The one envelope every acknowledgement of ours uses.

use serde::{Deserialize, Deserializer, Serialize};

/// The reply to any request that asked for an ack.
///
/// Wire format (JSON), one shape for every event:
/// - success: `{ "status": "ok", "data": <T> }`
/// - failure: `{ "status": "error", "error": { "code": "too_long", "message": "…" } }`
///
/// Read as one plain struct ([`AckWire`]), not as serde's internally tagged enum: that one
/// buffers the whole reply in serde's `Content` first and reads `T` from the buffer, a
/// second copy of every `T`'s decoder in the browser's WASM (bench/results/SIZE.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// [`AckReply`] as it is read: the tag and both payloads as optional fields, in any order.
#[derive(Deserialize)]
struct AckWire<T> {
    status: AckStatus,
    data: Option<T>,
    error: Option<AckError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum AckStatus {
    Ok,
    Error,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for AckReply<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IntoDeserializer};
        let wire = AckWire::<T>::deserialize(deserializer)?;
        match wire.status {
            AckStatus::Ok => match wire.data {
                Some(data) => Ok(Self::Ok { data }),
                // `"data": null` or no data: fine for `()` and `Option<_>`, an error otherwise.
                None => T::deserialize(().into_deserializer()).map(|data| Self::Ok { data }),
            },
            AckStatus::Error => {
                wire.error.map(|error| Self::Error { error }).ok_or_else(|| D::Error::missing_field("error"))
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: serde::de::DeserializeOwned>(json: &str) -> Result<AckReply<T>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn replies_read_back_as_written() {
        let ok: AckReply<Vec<u32>> = AckReply::Ok { data: vec![1, 2] };
        let wire = serde_json::to_string(&ok).unwrap();
        assert_eq!(wire, r#"{"status":"ok","data":[1,2]}"#);
        assert_eq!(read::<Vec<u32>>(&wire).unwrap(), ok);
        let error: AckReply<Vec<u32>> = AckReply::error(AckErrorCode::TooLong, "too long");
        let wire = serde_json::to_string(&error).unwrap();
        assert_eq!(wire, r#"{"status":"error","error":{"code":"too_long","message":"too long"}}"#);
        assert_eq!(read::<Vec<u32>>(&wire).unwrap(), error);
    }

    #[test]
    fn the_status_may_come_last_and_extra_fields_are_ignored() {
        assert_eq!(read::<u32>(r#"{"data":7,"status":"ok"}"#).unwrap(), AckReply::Ok { data: 7 });
        let limited = r#"{"error":{"code":"rate_limited","message":"slow down","retryAfterMs":250},"status":"error"}"#;
        assert_eq!(read::<u32>(limited).unwrap(), AckReply::error(AckErrorCode::RateLimited, "slow down"));
    }

    #[test]
    fn no_data_is_fine_only_where_nothing_is_expected() {
        assert_eq!(read::<()>(r#"{"status":"ok"}"#).unwrap(), AckReply::Ok { data: () });
        assert_eq!(read::<()>(r#"{"status":"ok","data":null}"#).unwrap(), AckReply::Ok { data: () });
        assert_eq!(read::<Option<u32>>(r#"{"status":"ok","data":null}"#).unwrap(), AckReply::Ok { data: None });
        assert_eq!(read::<Option<u32>>(r#"{"status":"ok","data":3}"#).unwrap(), AckReply::Ok { data: Some(3) });
        assert!(read::<u32>(r#"{"status":"ok"}"#).is_err());
        assert!(read::<u32>(r#"{"status":"ok","data":null}"#).is_err());
    }

    #[test]
    fn malformed_replies_are_errors() {
        assert!(read::<u32>(r#"{"status":"error"}"#).unwrap_err().to_string().contains("missing field `error`"));
        assert!(read::<u32>(r#"{"status":"maybe","data":1}"#).is_err());
        assert!(read::<u32>(r#"{"data":1}"#).is_err());
        assert!(read::<u32>(r#"{"status":"ok","data":"seven"}"#).is_err());
        assert!(read::<u32>(r#"[1]"#).is_err());
    }
}
