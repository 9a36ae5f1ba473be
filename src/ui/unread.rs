//! Unread counts per conversation, from the user's last-read offsets that the server keeps
//! (so every tab and device of a session agrees): fetched on each connection, counted up
//! as messages arrive, cleared when the conversation is on screen.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::effect;

use super::acks::{emit_tracked, use_acks};
use super::identity::use_me;
use super::state::{ChatState, use_chat};
use super::visibility::use_visibility;
use crate::protocol::{AckReply, ChatMessage, Conversation, ReadMark, UnreadCount, events};
use socketio_browser::{ConnectionState, NoArgs, Payload, use_socket};

/// How long unread requests wait for the server.
const TIMEOUT_MS: u32 = 5000;

/// The counts. `Copy`: signals.
#[derive(Clone, Copy)]
pub struct Unread {
    /// Messages from others not yet seen, per conversation (absent: none).
    pub counts: RwSignal<BTreeMap<Conversation, u32>>,
    /// The last offset marked read per conversation (this page's knowledge).
    marks: StoredValue<BTreeMap<Conversation, i64>>,
    chat: ChatState,
}

impl Unread {
    /// Provides the counts and keeps them up to date. Needs [`Me`](super::identity::Me).
    pub fn provide() -> Self {
        let chat = use_chat();
        let unread = Self { counts: RwSignal::new(BTreeMap::new()), marks: StoredValue::new(BTreeMap::new()), chat };
        provide_context(unread);
        let socket = use_socket();
        let me = use_me();
        let acks = use_acks();
        let visibility = use_visibility();
        let fetch = move || {
            socket.with(|s| {
                emit_tracked(s.timeout(TIMEOUT_MS), acks, events::UNREAD_LIST, &NoArgs, move |r| {
                    if let Ok(Ok(AckReply::Ok { data })) = r.map(|p| p.decode::<AckReply<Vec<UnreadCount>>>()) {
                        unread.apply(data);
                    }
                })
            });
        };
        // On each connection as someone (and when a nickname is first chosen).
        effect(move || {
            let connected = socket.state.with(ConnectionState::is_connected);
            if connected && me.user.with(Option::is_some) {
                fetch();
            }
        });
        // Another tab or device read something: ask again.
        socket.on(events::READ_MARKED, move |_: &Payload| fetch());
        // What is on screen (in a visible tab) is read.
        effect(move || {
            let view = chat.view.get();
            if !visibility.visible.get() || me.user.with(Option::is_none) {
                return;
            }
            let me_id = me.id();
            let Some(newest) = chat.newest_in(&view, me_id.as_deref()) else { return };
            let marked = unread.marks.with_value(|m| m.get(&view).copied()).unwrap_or(0);
            let counted = unread.counts.with_untracked(|c| c.get(&view).copied()).unwrap_or(0);
            if newest <= marked && counted == 0 {
                return;
            }
            unread.counts.update(|c| {
                c.remove(&view);
            });
            unread.marks.update_value(|m| {
                m.insert(view.clone(), newest.max(marked));
            });
            let mark = ReadMark { conversation: view, offset: newest };
            socket.with(|s| emit_tracked(s.timeout(TIMEOUT_MS), acks, events::READ_MARK, &mark, |_| {}));
        });
        unread
    }

    fn apply(&self, counts: Vec<UnreadCount>) {
        let mut peers = Vec::new();
        self.marks.update_value(|marks| {
            for count in &counts {
                marks.insert(count.conversation.clone(), count.last_read);
            }
        });
        self.counts.set(
            counts
                .into_iter()
                .filter_map(|count| {
                    if let Some(peer) = count.peer {
                        peers.push(peer);
                    }
                    (count.count > 0).then_some((count.conversation, count.count))
                })
                .collect(),
        );
        self.chat.private.update(|p| p.extend(peers.iter().map(|u| u.user_id.clone())));
        self.chat.meet(peers);
    }

    /// A message arrived live: counted unless it is ours or its conversation is on screen
    /// (the effect above marks that one read).
    pub fn arrived(&self, message: &ChatMessage, me: Option<&str>, on_screen: bool) {
        if me.is_none() || message.author.as_ref().is_some_and(|a| Some(a.user_id.as_str()) == me) || on_screen {
            return;
        }
        let conversation = message.conversation(me);
        let marked = self.marks.with_value(|m| m.get(&conversation).copied()).unwrap_or(0);
        if message.server_offset > marked {
            self.counts.update(|c| *c.entry(conversation).or_default() += 1);
        }
    }

    /// The unread count of `conversation`.
    pub fn count(&self, conversation: &Conversation) -> u32 {
        self.counts.with(|c| c.get(conversation).copied()).unwrap_or(0)
    }
}

/// The page's [`Unread`].
pub fn use_unread() -> Unread {
    expect_context::<Unread>()
}

/// A conversation's unread count, when it has one. `label` names it in `data-room` (the
/// room's name, `everyone`, or `@` and the other user's nickname).
#[component]
pub fn UnreadBadge(conversation: Conversation, label: String) -> impl IntoView {
    let unread = use_unread();
    let count = Memo::new(move |_| unread.count(&conversation));
    view! {
        <Show when=move || { count.get() > 0 }>
            <span class="unread" data-testid="unread-count" data-room=label.clone() aria-label=move || format!("{} unread", count.get())>
                {count}
            </span>
        </Show>
    }
}
