//! The messages of the room on screen, oldest at the top.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::state::{shown_in, use_chat};
use crate::client::use_socket;
use crate::protocol::ChatMessage;

/// The list. `history` is what the server rendered with the page (messages to everyone).
#[component]
pub fn MessageList(
    /// The messages rendered with the page, in offset order.
    history: Vec<ChatMessage>,
) -> impl IntoView {
    let chat = use_chat();
    let socket = use_socket();
    let history: BTreeMap<i64, ChatMessage> = history.into_iter().map(|m| (m.server_offset, m)).collect();
    let last_offset = history.keys().next_back().copied().unwrap_or(0);
    let visible = Memo::new(move |_| {
        let view = chat.view.get();
        let mut all: BTreeMap<i64, ChatMessage> =
            history.iter().filter(|(_, m)| shown_in(m, view.as_deref())).map(|(k, v)| (*k, v.clone())).collect();
        chat.messages.with(|live| {
            all.extend(live.iter().filter(|(_, m)| shown_in(m, view.as_deref())).map(|(k, v)| (*k, v.clone())))
        });
        all.into_values().collect::<Vec<_>>()
    });

    // Server delivery: every (re)connection asks for what came after the last message seen,
    // in the rooms this socket is in.
    Effect::new(move |_| {
        let last = chat.messages.with(|m| m.keys().next_back().copied()).unwrap_or(0).max(last_offset);
        let rooms: Vec<String> = chat.joined.with(|j| j.iter().cloned().collect());
        socket.with(|s| s.set_auth(Some(serde_json::json!({ "serverOffset": last, "rooms": rooms }))));
    });

    let list = NodeRef::<leptos::html::Ul>::new();
    // Keep the newest message in view.
    Effect::new(move |_| {
        visible.track();
        if let Some(ul) = list.get() {
            ul.set_scroll_top(ul.scroll_height());
        }
    });
    view! {
        <ul class="messages" data-testid="messages" node_ref=list>
            <For each=move || visible.get() key=|m| m.server_offset let(message)>
                <li class="message" data-testid="message" data-offset=message.server_offset>
                    <span class="content">{message.content}</span>
                    {message.except.map(|room| view! { <span class="message-target">{format!("everyone but {room}")}</span> })}
                </li>
            </For>
        </ul>
    }
}
