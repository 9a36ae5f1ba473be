//! What the chat page knows, shared by its panels through context.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;

use crate::protocol::{ChatMessage, Conversation, HistoryPage, Presence, RoomInfo, UserInfo};

/// The chat's state. `Copy`: every field is a signal.
#[derive(Clone, Copy)]
pub struct ChatState {
    /// Messages received live, replayed or loaded with a room, by server offset (so each
    /// shows once, in order). The page's server-rendered history is kept apart.
    pub messages: RwSignal<BTreeMap<i64, ChatMessage>>,
    /// The conversation on screen.
    pub view: RwSignal<Conversation>,
    /// The rooms this socket is in.
    pub joined: RwSignal<BTreeSet<String>>,
    /// Every room with its member count, as the server last said.
    pub rooms: RwSignal<Vec<RoomInfo>>,
    /// The conversations whose oldest message is on the page.
    pub complete: RwSignal<BTreeSet<Conversation>>,
    /// Who is online, as the server last said.
    pub presence: RwSignal<Presence>,
    /// Whether a presence snapshot has arrived since the page loaded.
    pub presence_known: RwSignal<bool>,
    /// Join and leave notices, in the order they happened (not stored by the server).
    pub notices: RwSignal<Vec<Notice>>,
    /// The private conversations open on this page, by the other user's id.
    pub private: RwSignal<BTreeSet<String>>,
    /// Everyone this page has heard of (online, authors, private correspondents), by id.
    pub people: RwSignal<BTreeMap<String, UserInfo>>,
}

/// A line in a conversation that is not a message: "Ada joined".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Local id.
    pub id: u64,
    /// Where it shows.
    pub conversation: Conversation,
    /// It shows after the message with this offset (the newest when it happened).
    pub after: i64,
    /// What happened.
    pub text: String,
}

impl ChatState {
    /// Fresh state, provided to the page's components.
    pub fn provide() -> Self {
        let state = Self {
            messages: RwSignal::new(BTreeMap::new()),
            view: RwSignal::new(Conversation::Everyone),
            joined: RwSignal::new(BTreeSet::new()),
            rooms: RwSignal::new(Vec::new()),
            complete: RwSignal::new(BTreeSet::new()),
            presence: RwSignal::new(Presence::default()),
            presence_known: RwSignal::new(false),
            notices: RwSignal::new(Vec::new()),
            private: RwSignal::new(BTreeSet::new()),
            people: RwSignal::new(BTreeMap::new()),
        };
        provide_context(state);
        state
    }

    /// Adds messages (a broadcast, a replay, a room's history).
    pub fn receive(&self, messages: impl IntoIterator<Item = ChatMessage>) {
        let messages: Vec<ChatMessage> = messages.into_iter().collect();
        let authors: Vec<UserInfo> = messages.iter().filter_map(|m| m.author.clone()).collect();
        if !authors.is_empty() {
            self.meet(authors);
        }
        self.messages.update(|all| all.extend(messages.into_iter().map(|m| (m.server_offset, m))));
    }

    /// Notes who these users are (their latest nicknames).
    pub fn meet(&self, users: impl IntoIterator<Item = UserInfo>) {
        let users: Vec<UserInfo> = users.into_iter().collect();
        let news = self.people.with_untracked(|p| users.iter().any(|u| p.get(&u.user_id) != Some(u)));
        if news {
            self.people.update(|p| p.extend(users.into_iter().map(|u| (u.user_id.clone(), u))));
        }
    }

    /// The nickname of `user_id`, if known.
    pub fn nickname(&self, user_id: &str) -> Option<String> {
        self.people.with(|p| p.get(user_id).map(|u| u.nickname.clone()))
    }

    /// The view's title: `Everyone`, `# rust`, `@ Ada`.
    pub fn title(&self, view: &Conversation) -> String {
        match view {
            Conversation::Everyone => "Everyone".into(),
            Conversation::Room(room) => format!("# {room}"),
            Conversation::User(id) => format!("@ {}", self.nickname(id).unwrap_or_else(|| "someone".into())),
        }
    }

    /// Adds a page of history of `view`, noting when it reaches the beginning.
    pub fn receive_page(&self, view: Conversation, page: HistoryPage) {
        if page.complete {
            self.complete.update(|c| {
                c.insert(view);
            });
        }
        self.receive(page.messages);
    }

    /// The room on screen, if the view is a room.
    pub fn room(&self) -> Option<String> {
        self.view.with(|v| match v {
            Conversation::Room(room) => Some(room.clone()),
            _ => None,
        })
    }

    /// Opens the private conversation with `user_id`.
    pub fn open_private(&self, user_id: String) {
        self.private.update(|p| {
            p.insert(user_id.clone());
        });
        self.view.set(Conversation::User(user_id));
    }

    /// Adds a notice to `conversation`, after its newest message.
    pub fn notice(&self, conversation: Conversation, text: String) {
        let after = self.messages.with_untracked(|m| m.keys().next_back().copied()).unwrap_or(0);
        self.notices.update(|n| {
            let id = n.last().map_or(0, |last| last.id + 1);
            n.push(Notice { id, conversation, after, text });
            // A long-open page keeps the latest notices only.
            if n.len() > MAX_NOTICES {
                n.remove(0);
            }
        });
    }

    /// The offset of the newest message of `view` (for the user `me`).
    pub fn newest_in(&self, view: &Conversation, me: Option<&str>) -> Option<i64> {
        self.messages.with(|m| m.values().rev().find(|m| m.conversation(me) == *view).map(|m| m.server_offset))
    }
}

/// Notices kept on the page.
const MAX_NOTICES: usize = 200;

/// The page's [`ChatState`].
pub fn use_chat() -> ChatState {
    expect_context::<ChatState>()
}

/// Whether `message` belongs on the view `view`, for the user `me`.
pub fn shown_in(message: &ChatMessage, view: &Conversation, me: Option<&str>) -> bool {
    message.conversation(me) == *view
}
