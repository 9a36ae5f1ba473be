//! Client delivery in the page: the client library's [`Outbox`](delivery::Outbox) in a
//! signal, kept in `localStorage` (so a reload loses nothing written offline), each message
//! sent through the socket's retry queue.
//!
//! The library does the work: the socket sends one message at a time, again with the same
//! client offset on a timeout or a reconnection, up to [`RETRIES`] more times; the outbox
//! gives every message its client offset and its state. This file only wires them to the
//! page: what an answer means, where the outbox is saved, what the composer hears.

use leptos::prelude::*;

use super::effect;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use socketio_browser::delivery::{self, Entry, Outcome};
use socketio_browser::{AckTimeout, Payload, SocketContext};

use super::acks::{AckLog, emit_tracked};
use super::state::ChatState;
use crate::protocol::{AckReply, Conversation, Target, events};

/// How long one try waits for the server's ack.
const TRY_TIMEOUT_MS: u32 = 5000;
/// Tries after the first before a message is marked failed.
pub const RETRIES: u32 = 2;
/// Where unacknowledged messages survive a reload.
#[cfg(feature = "hydrate")]
const STORAGE_KEY: &str = "socket-chat:outbox";

pub use delivery::State;

/// A message this page wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The text.
    pub content: String,
    /// Who it is for.
    pub target: Target,
    /// The conversation it was written in, where it shows until delivered.
    #[serde(deserialize_with = "view_then_or_now")]
    pub view: Conversation,
}

/// Reads a draft's view as saved by this page, or by the page before conversations (a room
/// name or `null`), so that a message written offline before an upgrade is still sent.
fn view_then_or_now<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Conversation, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Saved {
        Now(Conversation),
        Then(Option<String>),
    }
    Ok(match Saved::deserialize(deserializer)? {
        Saved::Now(view) => view,
        Saved::Then(Some(room)) => Conversation::Room(room),
        Saved::Then(None) => Conversation::Everyone,
    })
}

/// The page's outbox. `Copy`: every field is a signal or a stored value.
#[derive(Clone, Copy)]
pub struct Outbox {
    /// Our messages not yet seen back from the server, in order written.
    pub entries: RwSignal<delivery::Outbox<Draft>>,
    socket: SocketContext,
    acks: AckLog,
    /// Called with the reason when the server refuses a message (bad input).
    on_refused: StoredValue<Option<Callback<(Draft, String)>>>,
}

impl Outbox {
    /// Provides the outbox; in the browser, sends again what a previous page left unsent
    /// (but what `chat` already shows) and keeps `localStorage` up to date.
    pub fn provide(socket: SocketContext, acks: AckLog, chat: ChatState) -> Self {
        let outbox = Self {
            entries: RwSignal::new(delivery::Outbox::new(random_key())),
            socket,
            acks,
            on_refused: StoredValue::new(None),
        };
        provide_context(outbox);
        // Empty while hydrating, as on the server; what a previous page left comes next.
        effect(move || {
            let mut saved = load();
            // Stored before the reload (its ack was lost with the page): it is in the history.
            chat.messages.with_untracked(|shown| {
                saved.retain(|e| !shown.values().any(|m| m.client_offset.as_deref() == Some(e.key.as_str())))
            });
            if !saved.is_empty() {
                let resend = outbox.entries.try_update(|o| o.restore(saved)).unwrap_or_default();
                resend.iter().for_each(|e| outbox.emit(e));
            }
        });
        effect(move || outbox.entries.with(|o| save(&o.unsent())));
        outbox
    }

    /// Called when the server refuses a message: it leaves the outbox.
    pub fn on_refused(&self, callback: impl Fn((Draft, String)) + Send + Sync + 'static) {
        self.on_refused.set_value(Some(Callback::new(callback)));
    }

    /// Sends a new message.
    pub fn send(&self, draft: Draft) {
        if let Some(entry) = self.entries.try_update(|o| o.push(draft)) {
            self.emit(&entry);
        }
    }

    /// Tries a failed message again.
    pub fn retry(&self, key: &str) {
        if let Some(Some(entry)) = self.entries.try_update(|o| o.retry(key)) {
            self.emit(&entry);
        }
    }

    /// Our message came back from the server: it shows as a message now.
    pub fn delivered(&self, key: &str) {
        if self.entries.with_untracked(|o| o.entries().iter().any(|e| e.key == key)) {
            self.entries.update(|o| {
                o.delivered(key);
            });
        }
    }

    /// Whether `key` is one of this page's messages (still on its way).
    pub fn is_ours(&self, key: &str) -> bool {
        self.entries.with_untracked(|o| o.entries().iter().any(|e| e.key == key))
    }

    /// How many messages the server does not have yet.
    pub fn waiting(&self) -> usize {
        self.entries.with(delivery::Outbox::waiting)
    }

    /// `chat message` with its client offset, through the socket's retry queue: the
    /// tutorial's `(content, clientOffset)`, and our target as a third argument only when the
    /// message is not for everyone (the tutorial's server would take it for its callback).
    fn emit(&self, entry: &Entry<Draft>) {
        let (content, key, target) = (&entry.message.content, &entry.key, &entry.message.target);
        let outbox = *self;
        let done = {
            let key = key.clone();
            move |result| outbox.answered(&key, result)
        };
        self.socket.with(|s| {
            let emitter = s.timeout(TRY_TIMEOUT_MS).retries(RETRIES);
            if *target == Target::default() {
                emit_tracked(emitter, self.acks, events::CHAT_MESSAGE, &(content, key), done)
            } else {
                emit_tracked(emitter, self.acks, events::CHAT_MESSAGE, &(content, key, target), done)
            }
        });
    }

    fn answered(&self, key: &str, result: Result<Payload, AckTimeout>) {
        let refused = self.entries.try_update(|o| o.settle(key, outcome(&result))).flatten();
        if let (Some((draft, reason)), Some(callback)) = (refused, self.on_refused.get_value()) {
            callback.run((draft.message, reason));
        }
        // The tutorial's server acks with a bare `callback()` and broadcasts without our client
        // offset: its broadcast shows the message, so it leaves the outbox now.
        if result.as_ref().is_ok_and(|payload| !is_our_envelope(payload)) {
            self.delivered(key);
        }
    }
}

/// What the server's answer to a `chat message` means. Ours is an
/// [`AckReply`]; the tutorial's server answers with a bare `callback()`, which counts as
/// stored too: only our error envelope is a refusal.
fn outcome(result: &Result<Payload, AckTimeout>) -> Outcome {
    match result {
        Err(AckTimeout) => Outcome::Unanswered,
        Ok(payload) => match payload.decode::<AckReply<IgnoredAny>>() {
            Ok(AckReply::Error { error }) => Outcome::Refused(error.message),
            _ => Outcome::Accepted,
        },
    }
}

/// Whether an answer is our [`AckReply`] (our server, whose broadcast then carries the
/// client offset) rather than another server's bare `callback()`.
fn is_our_envelope(payload: &Payload) -> bool {
    payload.decode::<AckReply<IgnoredAny>>().is_ok()
}

/// The page's [`Outbox`].
pub fn use_outbox() -> Outbox {
    expect_context::<Outbox>()
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

#[cfg(feature = "hydrate")]
fn load() -> Vec<Entry<Draft>> {
    let saved = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    saved.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default()
}

#[cfg(not(feature = "hydrate"))]
fn load() -> Vec<Entry<Draft>> {
    Vec::new()
}

#[cfg(feature = "hydrate")]
fn save(unsent: &[Entry<Draft>]) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(unsent)) {
        let _ = if unsent.is_empty() { storage.remove_item(STORAGE_KEY) } else { storage.set_item(STORAGE_KEY, &json) };
    }
}

#[cfg(not(feature = "hydrate"))]
fn save(_: &[Entry<Draft>]) {}

/// 128 random bits in hex: this page load's part of every client offset.
fn random_key() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness source: fall back to the clock, still unique per load in practice.
        bytes[..8].copy_from_slice(&(super::now_ms() as u64).to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use socketio_browser::codec::ack_value;

    use super::*;
    use crate::protocol::{AckErrorCode, SentMessage};

    fn answer<T: Serialize>(args: &T) -> Result<Payload, AckTimeout> {
        Ok(Payload::new(ack_value(args).unwrap(), false))
    }

    #[test]
    fn drafts_saved_before_conversations_are_read() {
        let old: Draft = serde_json::from_str(r#"{"content":"hi","target":{},"view":"rust"}"#).unwrap();
        assert_eq!(old.view, Conversation::Room("rust".into()));
        let old: Draft = serde_json::from_str(r#"{"content":"hi","target":{},"view":null}"#).unwrap();
        assert_eq!(old.view, Conversation::Everyone);
        let now: Draft = serde_json::from_str(r#"{"content":"hi","target":{},"view":{"user":"u"}}"#).unwrap();
        assert_eq!(now.view, Conversation::User("u".into()));
    }

    #[test]
    fn our_envelope_the_tutorials_bare_ack_and_a_timeout() {
        let ok = AckReply::Ok { data: SentMessage { server_offset: 3, duplicate: false } };
        assert_eq!(outcome(&answer(&(ok,))), Outcome::Accepted);
        let refused = AckReply::<()>::error(AckErrorCode::TooLong, "too long");
        assert_eq!(outcome(&answer(&(refused,))), Outcome::Refused("too long".into()));
        assert_eq!(outcome(&answer(&socketio_browser::NoArgs)), Outcome::Accepted, "the tutorial's bare callback()");
        assert_eq!(outcome(&Err(AckTimeout)), Outcome::Unanswered);
    }

    #[test]
    fn only_our_envelope_promises_a_broadcast_with_our_client_offset() {
        let ok = AckReply::Ok { data: SentMessage { server_offset: 3, duplicate: false } };
        assert!(is_our_envelope(&answer(&(ok,)).unwrap()));
        assert!(is_our_envelope(&answer(&(AckReply::<()>::error(AckErrorCode::TooLong, "too long"),)).unwrap()));
        assert!(!is_our_envelope(&answer(&socketio_browser::NoArgs).unwrap()), "the tutorial's bare callback()");
    }
}
