//! The messages of the view on screen, oldest at the top: what the server has, then ours
//! on their way. Scrolling to the top loads older pages.

use leptos::prelude::*;

use super::acks::{emit_tracked, use_acks};
use super::outbox::{State, use_outbox};
use super::state::{shown_in, use_chat};
use crate::protocol::{AckReply, HandshakeAuth, HistoryPage, HistoryRequest, events};
use socketio_browser::use_socket;

/// Scrolled this close to the top, the next older page loads.
const TOP_MARGIN_PX: i32 = 40;

/// The list. `history` is what the server rendered with the page (messages to everyone).
#[component]
pub fn MessageList(
    /// The latest messages to everyone, rendered with the page, in offset order.
    history: HistoryPage,
) -> impl IntoView {
    let chat = use_chat();
    let socket = use_socket();
    let acks = use_acks();
    let outbox = use_outbox();
    chat.receive_page(None, history);

    let visible = Memo::new(move |_| {
        let view = chat.view.get();
        chat.messages.with(|all| all.values().filter(|m| shown_in(m, view.as_deref())).cloned().collect::<Vec<_>>())
    });
    let ours = move || {
        let view = chat.view.get();
        outbox.entries.with(|o| o.entries().iter().filter(|e| e.message.view == view).cloned().collect::<Vec<_>>())
    };

    // Server delivery: every (re)connection asks for what came after the last message seen,
    // in the rooms this socket is in (offsets grow across rooms, so one offset covers all).
    Effect::new(move |_| {
        let last = chat.messages.with(|m| m.keys().next_back().copied()).unwrap_or(0);
        let rooms: Vec<String> = chat.joined.with(|j| j.iter().cloned().collect());
        let auth = HandshakeAuth { server_offset: Some(last), rooms };
        socket.with(|s| s.set_auth(&auth));
    });

    // Older pages, per view: which views have nothing older, and whether a page is coming.
    let complete = chat.complete;
    let loading = RwSignal::new(false);
    let list = NodeRef::<leptos::html::Ul>::new();
    // Height of the list before older messages were put on top, to keep the reader's place.
    let height_before = StoredValue::new(None::<i32>);
    let load_older = move || {
        let view = chat.view.get_untracked();
        if loading.get_untracked() || complete.with_untracked(|c| c.contains(&view)) {
            return;
        }
        let before = visible.with_untracked(|v| v.first().map(|m| m.server_offset));
        // No limit: the server's page size.
        let request = HistoryRequest { room: view.clone(), before, limit: None };
        loading.set(true);
        height_before.set_value(list.get_untracked().map(|ul| ul.scroll_height()));
        socket.with(|s| {
            emit_tracked(s.timeout(10_000), acks, events::MESSAGES_HISTORY, &request, move |result| {
                loading.set(false);
                if let Ok(Ok(AckReply::Ok { data })) = result.map(|p| p.decode::<AckReply<HistoryPage>>()) {
                    chat.receive_page(view, data);
                }
            })
        });
    };
    let on_scroll = move |_| {
        if list.get_untracked().is_some_and(|ul| ul.scroll_top() < TOP_MARGIN_PX) {
            load_older();
        }
    };

    // Keep the newest message in view, and the reader's place when older ones come in on top.
    let newest = Memo::new(move |_| visible.with(|v| v.last().map(|m| m.server_offset)));
    Effect::new(move |_| {
        newest.track();
        ours().len();
        if let Some(ul) = list.get() {
            ul.set_scroll_top(ul.scroll_height());
        }
    });
    Effect::new(move |_| {
        visible.track();
        if let (Some(ul), Some(before)) = (list.get(), height_before.get_value()) {
            height_before.set_value(None);
            ul.set_scroll_top(ul.scroll_height() - before);
        }
    });

    view! {
        <ul class="messages" data-testid="messages" node_ref=list on:scroll=on_scroll>
            <li class="history-note" data-testid="history-loading" hidden=move || !loading.get()>
                "Loading older messages…"
            </li>
            <li class="history-note" data-testid="history-start" hidden=move || !complete.with(|c| c.contains(&chat.view.get()))>
                "The beginning of the conversation."
            </li>
            <li class="history-note" hidden=move || complete.with(|c| c.contains(&chat.view.get())) || loading.get()>
                <button data-testid="history-more" on:click=move |_| load_older()>"Load older messages"</button>
            </li>
            <For each=move || visible.get() key=|m| m.server_offset let(message)>
                <li class="message" data-testid="message" data-offset=message.server_offset data-state="delivered">
                    <span class="content">{message.content}</span>
                    {message.except.map(|room| view! { <span class="message-target">{format!("everyone but {room}")}</span> })}
                </li>
            </For>
            <For each=ours key=|e| (e.key.clone(), e.state) let(entry)>
                {
                    let key = entry.key.clone();
                    view! {
                        <li class=format!("message mine {}", entry.state.as_str()) data-testid="message" data-state=entry.state.as_str()>
                            <span class="content">{entry.message.content.clone()}</span>
                            <span class="message-state">
                                {match entry.state {
                                    State::Pending => "sending…",
                                    State::Sent => "sent",
                                    State::Failed => "not sent",
                                }}
                            </span>
                            {(entry.state == State::Failed).then(|| view! {
                                <button data-testid="message-retry" on:click=move |_| outbox.retry(&key)>"Retry"</button>
                            })}
                        </li>
                    }
                }
            </For>
        </ul>
    }
}
