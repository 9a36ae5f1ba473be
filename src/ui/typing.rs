//! "Someone is typing…": a broadcast to everyone but the sender, sent `volatile`.

use std::collections::BTreeMap;
use std::time::Duration;

use leptos::prelude::*;

use super::now_ms;
use super::state::use_chat;
use crate::protocol::{TypingNotice, events};
use socketio_browser::{Payload, SocketContext, use_socket};

/// How long a `typing` notice shows.
const SHOWN_MS: f64 = 3000.0;
/// Least time between two notices from this page.
pub const THROTTLE_MS: f64 = 1500.0;

/// Who is typing where, and until when.
#[derive(Clone, Copy)]
pub struct Typing {
    /// Socket id → (room, shown until).
    others: RwSignal<BTreeMap<String, (Option<String>, f64)>>,
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
            let Ok(TypingNotice { id, room }) = payload.decode::<TypingNotice>() else { return };
            typing.others.update(|o| {
                o.insert(id, (room, now_ms() + SHOWN_MS));
            });
            set_timeout(
                move || typing.others.update(|o| o.retain(|_, (_, until)| *until > now_ms())),
                Duration::from_millis(SHOWN_MS as u64 + 50),
            );
        });
        typing
    }

    /// Tells the others this page is typing in `room`, at most every [`THROTTLE_MS`].
    pub fn notify(&self, room: Option<String>) {
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
    let count = move || {
        let view = chat.view.get();
        typing.others.with(|o| o.values().filter(|(room, _)| *room == view).count())
    };
    view! {
        <p class="typing" data-testid="typing-indicator" hidden=move || count() == 0>
            {move || match count() {
                1 => "Someone is typing…".to_owned(),
                n => format!("{n} people are typing…"),
            }}
        </p>
    }
}
