//! "Someone is typing…": a broadcast to everyone but the sender, sent `volatile`.

use std::collections::BTreeMap;
use std::time::Duration;

use leptos::prelude::*;

use super::now_ms;
use super::state::use_chat;
use crate::protocol::{Conversation, TypingNotice, events};
use socketio_browser::{Payload, SocketContext, use_socket};

/// How long a `typing` notice shows.
const SHOWN_MS: f64 = 3000.0;
/// Least time between two notices from this page.
pub const THROTTLE_MS: f64 = 1500.0;

/// Someone typing: (room, nickname, shown until).
type Typist = (Option<String>, Option<String>, f64);

/// Who is typing where, and until when.
#[derive(Clone, Copy)]
pub struct Typing {
    /// By socket id.
    others: RwSignal<BTreeMap<String, Typist>>,
    last_sent: StoredValue<f64>,
    socket: SocketContext,
}

impl Typing {
    /// Listens for `typing` notices for as long as the caller lives.
    pub fn provide() -> Self {
        let socket = use_socket();
        let typing = Self { others: RwSignal::new(BTreeMap::new()), last_sent: StoredValue::new(f64::MIN), socket };
        provide_context(typing);
        socket.on(events::TYPING, move |payload: &Payload| {
            let Ok(TypingNotice { id, room, nickname }) = payload.decode::<TypingNotice>() else { return };
            typing.others.update(|o| {
                o.insert(id, (room, nickname, now_ms() + SHOWN_MS));
            });
            set_timeout(
                move || typing.others.update(|o| o.retain(|_, (_, _, until)| *until > now_ms())),
                Duration::from_millis(SHOWN_MS as u64 + 50),
            );
        });
        typing
    }

    /// Tells the others this page is typing in `view`, at most every [`THROTTLE_MS`] (not
    /// in a private conversation: typing is a broadcast).
    pub fn notify(&self, view: Conversation) {
        let room = match view {
            Conversation::Everyone => None,
            Conversation::Room(room) => Some(room),
            Conversation::User(_) => return,
        };
        let now = now_ms();
        if now - self.last_sent.get_value() < THROTTLE_MS {
            return;
        }
        self.last_sent.set_value(now);
        self.socket.with(|s| {
            // Volatile: a typing notice is worthless later, so it is never buffered.
            let _ = s.volatile().emit(events::TYPING, &room);
        });
    }
}

/// The page's [`Typing`].
pub fn use_typing() -> Typing {
    expect_context::<Typing>()
}

/// The line under the messages.
#[component]
pub fn TypingIndicator() -> impl IntoView {
    let typing = use_typing();
    let chat = use_chat();
    // The names of those typing in the view (several tabs of one person count once).
    let names = move || {
        let view = chat.view.get();
        let room = match &view {
            Conversation::Everyone => None,
            Conversation::Room(room) => Some(room.as_str()),
            // Typing is not sent in private conversations.
            Conversation::User(_) => return Vec::new(),
        };
        let mut names: Vec<Option<String>> = typing
            .others
            .with(|o| o.values().filter(|(r, _, _)| r.as_deref() == room).map(|(_, n, _)| n.clone()).collect());
        names.sort();
        names.dedup_by(|a, b| a.is_some() && a == b);
        names
    };
    view! {
        <p class="typing" data-testid="typing-indicator" hidden=move || names().is_empty()>
            {move || match names().as_slice() {
                [Some(name)] => format!("{name} is typing…"),
                [_] => "Someone is typing…".to_owned(),
                names => format!("{} people are typing…", names.len()),
            }}
        </p>
    }
}
