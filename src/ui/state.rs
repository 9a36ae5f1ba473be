//! What the chat page knows, shared by its panels through context.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;

use crate::protocol::{ChatMessage, HistoryPage, RoomInfo};

/// The chat's state. `Copy`: every field is a signal.
#[derive(Clone, Copy)]
pub struct ChatState {
    /// Messages received live, replayed or loaded with a room, by server offset (so each
    /// shows once, in order). The page's server-rendered history is kept apart.
    pub messages: RwSignal<BTreeMap<i64, ChatMessage>>,
    /// The room on screen; `None` for the messages to everyone.
    pub view: RwSignal<Option<String>>,
    /// The rooms this socket is in.
    pub joined: RwSignal<BTreeSet<String>>,
    /// Every room with its member count, as the server last said.
    pub rooms: RwSignal<Vec<RoomInfo>>,
    /// The views (`None`: everyone) whose oldest message is on the page.
    pub complete: RwSignal<BTreeSet<Option<String>>>,
}

impl ChatState {
    /// Fresh state, provided to the page's components.
    pub fn provide() -> Self {
        let state = Self {
            messages: RwSignal::new(BTreeMap::new()),
            view: RwSignal::new(None),
            joined: RwSignal::new(BTreeSet::new()),
            rooms: RwSignal::new(Vec::new()),
            complete: RwSignal::new(BTreeSet::new()),
        };
        provide_context(state);
        state
    }

    /// Adds messages (a broadcast, a replay, a room's history).
    pub fn receive(&self, messages: impl IntoIterator<Item = ChatMessage>) {
        self.messages.update(|all| all.extend(messages.into_iter().map(|m| (m.server_offset, m))));
    }

    /// Adds a page of history of `view`, noting when it reaches the beginning.
    pub fn receive_page(&self, view: Option<String>, page: HistoryPage) {
        if page.complete {
            self.complete.update(|c| {
                c.insert(view);
            });
        }
        self.receive(page.messages);
    }
}

/// The page's [`ChatState`].
pub fn use_chat() -> ChatState {
    expect_context::<ChatState>()
}

/// Whether `message` belongs on the view of `room` (`None`: everyone).
pub fn shown_in(message: &ChatMessage, room: Option<&str>) -> bool {
    message.room.as_deref() == room
}
