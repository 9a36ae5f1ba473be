//! Who is who: sessions, user ids and nicknames, as in Socket.IO's private-messaging
//! example.
//!
//! A session id is a secret the server gives a client once (in the ack of
//! [`USER_NICKNAME`](crate::events::USER_NICKNAME)) and the client gives back in its
//! handshake auth ([`HandshakeAuth::session_id`](crate::HandshakeAuth::session_id)) on every
//! connection, from every tab. It is never sent to anyone else. The user id is public: it
//! names the user in messages, presence and private messages.

use serde::{Deserialize, Serialize};

use crate::{AckError, AckErrorCode};

/// Longest nickname, in characters.
pub const MAX_NICKNAME_CHARS: usize = 32;

/// A user as others see them: `{ "userId": "…", "nickname": "Ada" }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// Public id: 32 hex digits.
    pub user_id: String,
    /// What they chose to be called.
    pub nickname: String,
}

/// What the owner of a session learns about it: `{ "sessionId", "userId", "nickname" }`.
/// Only ever sent to that session's own sockets.
///
/// Read through [`IdentityWire`]: serde's `flatten` would buffer the object in its `Content`
/// first, a second decoder in the browser's WASM for one flat object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "IdentityWire")]
pub struct Identity {
    /// The secret to give back in the handshake auth.
    pub session_id: String,
    /// The public part.
    #[serde(flatten)]
    pub user: UserInfo,
}

/// [`Identity`] as it is on the wire.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityWire {
    session_id: String,
    user_id: String,
    nickname: String,
}

impl From<IdentityWire> for Identity {
    fn from(IdentityWire { session_id, user_id, nickname }: IdentityWire) -> Self {
        Self { session_id, user: UserInfo { user_id, nickname } }
    }
}

/// `session`, sent to a socket right after it connects: who the server takes it for.
/// `{ "user": { "userId", "nickname" } }`, or `{ "user": null }` for a socket without a
/// (known) session, which may read and chat anonymously and choose a nickname to get one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    /// The user, when the handshake's session id is known.
    pub user: Option<UserInfo>,
}

/// Trims a nickname and checks it: 1 to [`MAX_NICKNAME_CHARS`] characters, letters, digits,
/// spaces (not two in a row), and `-_.'`.
pub fn nickname(name: &str) -> Result<String, AckError> {
    let name = name.trim();
    let invalid = |message: String| AckError { code: AckErrorCode::InvalidArguments, message };
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NICKNAME_CHARS {
        return Err(invalid(format!("a nickname has 1 to {MAX_NICKNAME_CHARS} characters")));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '\''))) {
        return Err(invalid(format!("a nickname cannot contain {c:?}: use letters, digits, spaces and -_.'")));
    }
    if name.contains("  ") {
        return Err(invalid("a nickname cannot contain two spaces in a row".into()));
    }
    Ok(name.to_owned())
}

/// Whether `id` has the shape of a session or user id: 32 lowercase hex digits.
pub fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_trimmed_and_checked() {
        assert_eq!(nickname("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert_eq!(nickname("Zoë_O'Neil-2.0").unwrap(), "Zoë_O'Neil-2.0");
        for bad in ["", "   ", "<script>", "a\u{0}b", "tab\there", "two  spaces", &"x".repeat(33)] {
            assert!(nickname(bad).is_err(), "{bad:?}");
        }
        assert!(nickname(&"é".repeat(32)).is_ok());
    }

    #[test]
    fn ids_are_32_hex_digits() {
        assert!(is_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_id("0123456789abcdef"));
        assert!(!is_id("0123456789abcdef0123456789abcdeg"));
    }

    #[test]
    fn identity_is_flat_on_the_wire() {
        let identity =
            Identity { session_id: "s".into(), user: UserInfo { user_id: "u".into(), nickname: "Ada".into() } };
        let wire = serde_json::to_string(&identity).unwrap();
        assert_eq!(wire, r#"{"sessionId":"s","userId":"u","nickname":"Ada"}"#);
        assert_eq!(serde_json::from_str::<Identity>(&wire).unwrap(), identity);
    }
}
