//! The messages of the view on screen, oldest at the top: what the server has, then ours
//! on their way. Scrolling to the top loads older pages.

use leptos::prelude::*;

use super::effect;

use super::acks::{emit_tracked, use_acks};
use super::identity::use_me;
use super::outbox::{State, use_outbox};
use super::state::{Notice, shown_in, use_chat};
use super::text::{Piece, pieces};
use super::time::{Clock, use_clock};
use crate::protocol::{AckReply, ChatMessage, Conversation, HandshakeAuth, HistoryPage, HistoryRequest, events};
use socketio_browser::use_socket;

/// Scrolled this close to the top, the next older page loads.
const TOP_MARGIN_PX: i32 = 40;
/// Scrolled this close to the end, the list follows new messages.
const END_MARGIN_PX: i32 = 80;

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
    let clock = use_clock();
    let me = use_me();
    chat.receive_page(Conversation::Everyone, history);

    let visible = Memo::new(move |_| {
        let view = chat.view.get();
        let me = me.id();
        chat.messages
            .with(|all| all.values().filter(|m| shown_in(m, &view, me.as_deref())).cloned().collect::<Vec<_>>())
    });
    let ours = move || {
        let view = chat.view.get();
        outbox.entries.with(|o| o.entries().iter().filter(|e| e.message.view == view).cloned().collect::<Vec<_>>())
    };

    // Server delivery: every (re)connection asks for what came after the last message seen,
    // in the rooms this socket is in (offsets grow across rooms, so one offset covers all).
    effect(move || {
        let last = chat.messages.with(|m| m.keys().next_back().copied()).unwrap_or(0);
        let rooms: Vec<String> = chat.joined.with(|j| j.iter().cloned().collect());
        let auth = HandshakeAuth { server_offset: Some(last), rooms, session_id: me.session.get() };
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
        let (room, user) = match &view {
            Conversation::Everyone => (None, None),
            Conversation::Room(room) => (Some(room.clone()), None),
            Conversation::User(id) => (None, Some(id.clone())),
        };
        let request = HistoryRequest { room, user, before, ..HistoryRequest::default() };
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

    // Follow the conversation while the reader is at its end; otherwise offer a way back.
    let at_end = RwSignal::new(true);
    let scroll_to_end = move || {
        if let Some(ul) = list.get_untracked() {
            ul.set_scroll_top(ul.scroll_height());
        }
    };
    let newest = Memo::new(move |_| visible.with(|v| v.last().map(|m| m.server_offset)));
    effect(move || {
        newest.track();
        ours().len();
        if at_end.get_untracked() {
            scroll_to_end();
        }
    });
    // Another conversation opens at its end.
    effect(move || {
        chat.view.track();
        at_end.set(true);
        scroll_to_end();
    });
    let notices = Memo::new(move |_| {
        let view = chat.view.get();
        chat.notices.with(|n| n.iter().filter(|n| n.conversation == view).cloned().collect::<Vec<_>>())
    });
    let rows = Memo::new(move |_| visible.with(|v| notices.with(|n| rows(v, n, &clock))));
    effect(move || {
        rows.track();
        if let (Some(ul), Some(before)) = (list.get(), height_before.get_value()) {
            height_before.set_value(None);
            ul.set_scroll_top(ul.scroll_height() - before);
        }
    });
    let on_scroll = move |_| {
        let Some(ul) = list.get_untracked() else { return };
        if ul.scroll_top() < TOP_MARGIN_PX {
            load_older();
        }
        at_end.set(ul.scroll_height() - ul.scroll_top() - ul.client_height() < END_MARGIN_PX);
    };

    view! {
        <div class="messages-frame">
        <ul class="messages" data-testid="messages" node_ref=list on:scroll=on_scroll aria-live="polite" aria-label="Messages">
            <li class="history-note" data-testid="history-loading" hidden=move || !loading.get()>
                "Loading older messages…"
            </li>
            <li class="history-note" data-testid="history-start" hidden=move || !complete.with(|c| c.contains(&chat.view.get()))>
                "The beginning of the conversation."
            </li>
            <li class="history-note" hidden=move || complete.with(|c| c.contains(&chat.view.get())) || loading.get()>
                <button data-testid="history-more" on:click=move |_| load_older()>"Load older messages"</button>
            </li>
            <For each=move || rows.get() key=Row::key let(row)>
                {match row {
                    Row::Day(day) => view! {
                        <li class="day" data-testid="day-separator">
                            <span>{move || clock.day_label(day)}</span>
                        </li>
                    }.into_any(),
                    Row::Notice(notice) => view! {
                        <li class="notice" data-testid="notice">{notice.text}</li>
                    }.into_any(),
                    Row::Message { message, first } => {
                        let offset = message.server_offset;
                        let author = message.author.as_ref().map(|a| a.user_id.clone());
                        let mine = { let author = author.clone(); move || author.is_some() && author == me.id() };
                        view! {
                            <li
                                class="message"
                                class:mine=mine
                                class:continued=!first
                                data-testid="message"
                                data-offset=offset
                                data-author=author
                                data-state="delivered"
                            >
                                <MessageBody message />
                            </li>
                        }.into_any()
                    }
                }}
            </For>
            {move || ours().into_iter().map(|entry| {
                    let key = entry.key.clone();
                    view! {
                        <li class=format!("message mine {}", entry.state.as_str()) data-testid="message" data-state=entry.state.as_str()>
                            <div class="message-meta">
                                <span class="message-author" data-testid="message-author">"you"</span>
                            </div>
                            <div class="content" data-testid="message-content"><Linked text=entry.message.content.clone() /></div>
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
                    }.into_any()
            }).collect::<Vec<_>>()}
        </ul>
        <button
            class="jump-latest"
            data-testid="jump-latest"
            hidden=move || at_end.get()
            on:click=move |_| {
                at_end.set(true);
                scroll_to_end();
            }
        >
            "↓ Latest messages"
        </button>
        </div>
    }
}

/// A line of the list: a day's separator, or a message (the first of a group of one
/// author's messages shows who and when).
#[derive(Debug, Clone, PartialEq)]
enum Row {
    Day(i64),
    Message { message: ChatMessage, first: bool },
    Notice(Notice),
}

impl Row {
    fn key(&self) -> (i64, i64, bool) {
        match self {
            Row::Day(day) => (0, *day, false),
            Row::Message { message, first } => (1, message.server_offset, *first),
            Row::Notice(notice) => (2, notice.id as i64, false),
        }
    }
}

/// Messages of one author closer than this in time are shown as one group.
const GROUP_MS: i64 = 5 * 60_000;

/// The rows for `messages` (in offset order): a separator before each new day, the first
/// message of each group marked, and each notice after the message it followed.
fn rows(messages: &[ChatMessage], notices: &[Notice], clock: &Clock) -> Vec<Row> {
    let mut rows = Vec::with_capacity(messages.len() + notices.len() + 4);
    let mut previous: Option<&ChatMessage> = None;
    let mut notices = notices.iter().peekable();
    for message in messages {
        let mut interrupted = false;
        while let Some(notice) = notices.next_if(|n| n.after < message.server_offset) {
            rows.push(Row::Notice(notice.clone()));
            interrupted = true;
        }
        let day = clock.day(message.sent_at);
        let new_day = previous.is_none_or(|p| clock.day(p.sent_at) != day);
        if new_day {
            rows.push(Row::Day(day));
        }
        // A notice in between starts a new group.
        let first = new_day
            || interrupted
            || previous.is_none_or(|p| {
                p.author.as_ref().map(|a| &a.user_id) != message.author.as_ref().map(|a| &a.user_id)
                    || message.sent_at - p.sent_at > GROUP_MS
            });
        rows.push(Row::Message { message: message.clone(), first });
        previous = Some(message);
    }
    rows.extend(notices.cloned().map(Row::Notice));
    rows
}

/// Who, when, and the text (links clickable).
#[component]
fn MessageBody(message: ChatMessage) -> impl IntoView {
    let clock = use_clock();
    let author = message.author.as_ref().map_or_else(|| "anonymous".to_owned(), |a| a.nickname.clone());
    let sent_at = message.sent_at;
    view! {
        <div class="message-meta">
            <span class="message-author" data-testid="message-author">{author}</span>
            <time class="message-time" data-testid="message-time">{move || clock.time(sent_at)}</time>
            {message.except.map(|room| view! { <span class="message-target">{format!("everyone but {room}")}</span> })}
        </div>
        <div class="content" data-testid="message-content"><Linked text=message.content /></div>
    }
}

/// Text with its web links clickable (and nothing else: see [`pieces`]).
#[component]
pub fn Linked(text: String) -> impl IntoView {
    pieces(&text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(t) => t.to_owned().into_any(),
            Piece::Link(url) => view! {
                <a href=url.to_owned() target="_blank" rel="noopener noreferrer nofollow">{url.to_owned()}</a>
            }
            .into_any(),
        })
        .collect_view()
}
