//! Chat rooms: names, targets, and what the server says about them.

use serde::{Deserialize, Serialize};

use super::{AckError, AckErrorCode, HistoryPage};

/// Longest room name, in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 64;

/// A room and how many sockets are in it: `{ "name": "rust", "members": 3 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// The room's name.
    pub name: String,
    /// Sockets in it now.
    pub members: usize,
}

/// Data of a successful `room:join`:
/// `{ "room": "rust", "members": 3, "history": { "messages": [ChatMessage…], "complete": false } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinedRoom {
    /// The room's name, trimmed.
    pub room: String,
    /// Sockets in it now, the joiner included.
    pub members: usize,
    /// Its latest messages, oldest first, and whether there is anything older.
    pub history: HistoryPage,
}

/// Who a chat message is for: `{}` or absent (everyone), `{ "to": "rust" }` (one room, the
/// tutorial's `io.to(room)`), `{ "except": "rust" }` (everyone but a room, `io.except(room)`),
/// `{ "user": "<user id>" }` (a private message: every tab of that user, and the sender's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Only the members of this room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Everyone but the members of this room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<String>,
    /// Only this user (a private message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Target {
    /// Only the members of `room` (`io.to(room)`).
    pub fn room(room: impl Into<String>) -> Self {
        Self { to: Some(room.into()), ..Self::default() }
    }

    /// Everyone but the members of `room` (`io.except(room)`).
    pub fn all_but(room: impl Into<String>) -> Self {
        Self { except: Some(room.into()), ..Self::default() }
    }

    /// Only the user `user_id` (a private message).
    pub fn user(user_id: impl Into<String>) -> Self {
        Self { user: Some(user_id.into()), ..Self::default() }
    }
}

/// Trims a room name and checks it: 1 to [`MAX_ROOM_NAME_CHARS`] characters, none of them
/// a control character or a bidirectional override ([`is_forbidden_in_room_name`]).
pub fn room_name(name: &str) -> Result<String, AckError> {
    let name = name.trim();
    // Count at most one past the limit: a huge name costs no more than a short one.
    if name.is_empty() || name.chars().take(MAX_ROOM_NAME_CHARS + 1).count() > MAX_ROOM_NAME_CHARS {
        return Err(AckError {
            code: AckErrorCode::InvalidArguments,
            message: format!("a room name has 1 to {MAX_ROOM_NAME_CHARS} characters"),
        });
    }
    if name.chars().any(is_forbidden_in_room_name) {
        return Err(AckError {
            code: AckErrorCode::InvalidArguments,
            message: "a room name has no control characters and no bidirectional overrides".into(),
        });
    }
    Ok(name.to_owned())
}

/// Characters a room name may not hold: control characters (new lines, NUL, escapes), which
/// would break the room list and logs, and the bidirectional controls (U+202A to U+202E,
/// U+2066 to U+2069), which make a name read differently from what it is.
pub fn is_forbidden_in_room_name(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_trimmed_and_bounded() {
        assert_eq!(room_name("  rust ").unwrap(), "rust");
        assert!(room_name("   ").is_err());
        assert!(room_name(&"é".repeat(64)).is_ok());
        assert!(room_name(&"é".repeat(65)).is_err());
    }

    #[test]
    fn room_names_have_no_control_or_bidi_characters() {
        assert!(room_name("a\nb").is_err());
        assert!(room_name("a\u{0}b").is_err());
        assert!(room_name("evil\u{202E}gnp.exe").is_err());
        // Markup is just text: it is shown as typed, never interpreted.
        assert_eq!(room_name("<script>alert(1)</script>").unwrap(), "<script>alert(1)</script>");
        assert_eq!(room_name("日本語 room").unwrap(), "日本語 room");
    }

    #[test]
    fn targets_read_the_documented_shapes() {
        assert_eq!(serde_json::from_str::<Target>("{}").unwrap(), Target::default());
        assert_eq!(serde_json::from_str::<Target>(r#"{"to":"r"}"#).unwrap().to.as_deref(), Some("r"));
        assert!(serde_json::from_str::<Target>(r#"{"room":"r"}"#).is_err());
    }
}
