//! Client delivery: the messages this page wrote, until the server has them.
//!
//! Every message gets a client offset unique to this page load (a random key and a
//! counter), is kept in `localStorage` until acknowledged (so a reload loses nothing
//! written offline), and is sent one at a time, in the order written, only while
//! connected: on a timeout, or a reconnection while it was in flight, the same message
//! goes again with the same offset, and the server stores it once. After
//! [`MAX_TRIES`] timeouts it is marked failed and waits for the user's retry.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::acks::{AckLog, emit_tracked};
use socketio_browser::{AckTimeout, ConnectionState, Payload, SocketContext};
use crate::protocol::{AckReply, SentMessage, Target, events};

/// How long one try waits for the server's ack.
const TRY_TIMEOUT_MS: u32 = 5000;
/// Tries before a message is marked failed.
pub const MAX_TRIES: u32 = 3;
/// Where unacknowledged messages survive a reload.
#[cfg(feature = "hydrate")]
const STORAGE_KEY: &str = "socket-chat:outbox";

/// Where a message of ours stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Written, not yet acknowledged.
    Pending,
    /// Stored by the server; waiting for its broadcast.
    Sent,
    /// Not acknowledged after [`MAX_TRIES`] tries; the user may retry.
    Failed,
}

impl State {
    /// The `data-state` of its message.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

/// A message of ours on its way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Its idempotency key.
    pub client_offset: String,
    /// The text.
    pub content: String,
    /// Who it is for.
    pub target: Target,
    /// The view it was written in (`None`: everyone), where it shows until delivered.
    pub view: Option<String>,
    /// Where it stands.
    pub state: State,
    /// Tries so far.
    #[serde(default)]
    pub tries: u32,
}

/// The outbox, in order written.
#[derive(Clone, Copy)]
pub struct Outbox {
    /// Our messages not yet seen back from the server.
    pub entries: RwSignal<Vec<Outgoing>>,
    /// The client offset of the message in flight.
    in_flight: RwSignal<Option<String>>,
    session: StoredValue<String>,
    counter: StoredValue<u64>,
    socket: SocketContext,
    acks: AckLog,
    /// Called with the reason when the server refuses a message (bad input).
    on_refused: StoredValue<Option<Callback<(Outgoing, String)>>>,
}

impl Outbox {
    /// Loads what a previous page left unsent, and keeps sending while connected.
    pub fn provide(socket: SocketContext, acks: AckLog) -> Self {
        let outbox = Self {
            // Empty while hydrating, as on the server; what a previous page left comes next.
            entries: RwSignal::new(Vec::new()),
            in_flight: RwSignal::new(None),
            session: StoredValue::new(String::new()),
            counter: StoredValue::new(0),
            socket,
            acks,
            on_refused: StoredValue::new(None),
        };
        provide_context(outbox);
        Effect::new(move |_| {
            let saved = load();
            if !saved.is_empty() {
                outbox.entries.set(saved);
                outbox.drain();
            }
        });
        // Every (re)connection sends what waits, starting again with the one in flight.
        Effect::new(move |_| {
            if socket.state.with(ConnectionState::is_connected) {
                outbox.in_flight.set(None);
                outbox.drain();
            }
        });
        outbox
    }

    /// Called when the server refuses a message: it leaves the outbox.
    pub fn on_refused(&self, callback: impl Fn((Outgoing, String)) + Send + Sync + 'static) {
        self.on_refused.set_value(Some(Callback::new(callback)));
    }

    /// Queues a new message.
    pub fn send(&self, content: String, target: Target, view: Option<String>) {
        if self.session.with_value(String::is_empty) {
            self.session.set_value(random_key());
        }
        let n = self.counter.get_value();
        self.counter.set_value(n + 1);
        let client_offset = format!("{}-{n}", self.session.get_value());
        self.entries
            .update(|e| e.push(Outgoing { client_offset, content, target, view, state: State::Pending, tries: 0 }));
        self.save();
        self.drain();
    }

    /// How many messages are not yet acknowledged.
    pub fn waiting(&self) -> usize {
        self.entries.with(|e| e.iter().filter(|e| e.state != State::Sent).count())
    }

    /// Tries a failed message again.
    pub fn retry(&self, client_offset: &str) {
        self.entries.update(|entries| {
            if let Some(e) = entries.iter_mut().find(|e| e.client_offset == client_offset) {
                e.state = State::Pending;
                e.tries = 0;
            }
        });
        self.save();
        self.drain();
    }

    /// The server broadcast our message: it is delivered, and shows as a message now.
    pub fn delivered(&self, client_offset: &str) {
        if self.entries.with_untracked(|e| e.iter().any(|e| e.client_offset == client_offset)) {
            self.entries.update(|e| e.retain(|e| e.client_offset != client_offset));
            self.save();
        }
    }

    /// Sends the oldest pending message, if none is in flight and the socket is connected.
    fn drain(&self) {
        if self.in_flight.get_untracked().is_some() || !self.socket.state.with_untracked(ConnectionState::is_connected)
        {
            return;
        }
        let Some(next) = self.entries.with_untracked(|e| e.iter().find(|e| e.state == State::Pending).cloned()) else {
            return;
        };
        self.in_flight.set(Some(next.client_offset.clone()));
        self.entries.update(|entries| {
            if let Some(e) = entries.iter_mut().find(|e| e.client_offset == next.client_offset) {
                e.tries += 1;
            }
        });
        let outbox = *self;
        let offset = next.client_offset.clone();
        let args = (next.content.clone(), next.client_offset.clone(), next.target.clone());
        self.socket.with(|s| {
            emit_tracked(s, self.acks, events::CHAT_MESSAGE, &args, TRY_TIMEOUT_MS, move |result| {
                outbox.answered(&offset, result)
            })
        });
    }

    fn answered(&self, client_offset: &str, result: Result<Payload, AckTimeout>) {
        // A late answer to a try that a reconnection already replaced changes nothing.
        if self.in_flight.get_untracked().as_deref() != Some(client_offset) {
            return;
        }
        self.in_flight.set(None);
        match result.map(|p| p.decode::<AckReply<SentMessage>>()) {
            Ok(Ok(AckReply::Ok { .. })) => self.set_state(client_offset, State::Sent),
            Ok(Ok(AckReply::Error { error })) => {
                let refused =
                    self.entries.with_untracked(|e| e.iter().find(|e| e.client_offset == client_offset).cloned());
                self.entries.update(|e| e.retain(|e| e.client_offset != client_offset));
                if let (Some(refused), Some(callback)) = (refused, self.on_refused.get_value()) {
                    callback.run((refused, error.message));
                }
            }
            // A timeout, or an answer we cannot read: try again, up to MAX_TRIES.
            _ => {
                let tries = self.entries.with_untracked(|e| {
                    e.iter().find(|e| e.client_offset == client_offset).map_or(MAX_TRIES, |e| e.tries)
                });
                if tries >= MAX_TRIES {
                    self.set_state(client_offset, State::Failed);
                }
            }
        }
        self.save();
        self.drain();
    }

    fn set_state(&self, client_offset: &str, state: State) {
        self.entries.update(|entries| {
            if let Some(e) = entries.iter_mut().find(|e| e.client_offset == client_offset) {
                e.state = state;
            }
        });
    }

    /// Keeps what the server has not acknowledged.
    fn save(&self) {
        let unsent: Vec<Outgoing> =
            self.entries.with_untracked(|e| e.iter().filter(|e| e.state != State::Sent).cloned().collect());
        store(&unsent);
    }
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
fn load() -> Vec<Outgoing> {
    let saved = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    let mut entries: Vec<Outgoing> = saved.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default();
    for e in &mut entries {
        e.tries = 0;
        if e.state == State::Sent {
            e.state = State::Pending;
        }
    }
    entries
}

#[cfg(not(feature = "hydrate"))]
fn load() -> Vec<Outgoing> {
    Vec::new()
}

#[cfg(feature = "hydrate")]
fn store(entries: &[Outgoing]) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(entries)) {
        let _ =
            if entries.is_empty() { storage.remove_item(STORAGE_KEY) } else { storage.set_item(STORAGE_KEY, &json) };
    }
}

#[cfg(not(feature = "hydrate"))]
fn store(_: &[Outgoing]) {}

/// 128 random bits in hex: this page load's part of every client offset.
fn random_key() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness source: fall back to the clock, still unique per load in practice.
        bytes[..8].copy_from_slice(&(super::now_ms() as u64).to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
