//! The chat: messages (history from the server, then live) and the composer.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::history::latest_messages;
use super::status::ConnectionStatus;
use crate::client::{AckTimeout, Payload, use_socket};
use crate::protocol::{AckReply, ChatMessage, MessageMeta, SentMessage, events};

/// How long the composer waits for the server to acknowledge a message.
const SEND_TIMEOUT_MS: u32 = 10_000;

/// The chat page: the latest messages are in the server-rendered HTML; after hydration the
/// socket replays anything newer and appends live messages.
#[component]
pub fn ChatPage() -> impl IntoView {
    let history = Resource::new_blocking(|| (), |()| latest_messages());
    // Keyed by server offset: a message replayed and broadcast shows once, in order.
    let live = RwSignal::new(BTreeMap::<i64, ChatMessage>::new());
    let socket = use_socket();

    socket.on(events::CHAT_MESSAGE, move |payload: &Payload| {
        match payload.decode::<(String, i64, MessageMeta<'static>)>() {
            Ok(args) => {
                let message = ChatMessage::from_broadcast(args);
                live.update(|l| {
                    l.insert(message.server_offset, message);
                });
            }
            Err(e) => leptos::logging::warn!("malformed chat message: {e}"),
        }
    });

    view! {
        <main class="chat">
            <header class="chat-header">
                <h1>"socket-chat"</h1>
                <ConnectionStatus />
            </header>
            <Suspense fallback=|| view! { <p class="loading">"Loading messages…"</p> }>
                {move || history.get().map(|history| match history {
                    Ok(history) => view! { <MessageList history live /> }.into_any(),
                    Err(e) => view! {
                        <p class="error" data-testid="history-error">{format!("History unavailable: {e}")}</p>
                    }.into_any(),
                })}
            </Suspense>
            <Composer />
        </main>
    }
}

/// The messages, oldest at the top.
#[component]
fn MessageList(
    /// The messages rendered with the page, in offset order.
    history: Vec<ChatMessage>,
    /// Messages received since, by offset.
    live: RwSignal<BTreeMap<i64, ChatMessage>>,
) -> impl IntoView {
    let socket = use_socket();
    let history: BTreeMap<i64, ChatMessage> = history.into_iter().map(|m| (m.server_offset, m)).collect();
    let messages = Memo::new(move |_| {
        let mut all = history.clone();
        live.with(|l| all.extend(l.iter().map(|(k, v)| (*k, v.clone()))));
        all.into_values().collect::<Vec<_>>()
    });

    // Server delivery: every (re)connection asks for what came after the last message seen.
    Effect::new(move |_| {
        let last = messages.with(|m| m.last().map_or(0, |m| m.server_offset));
        socket.with(|s| s.set_auth(Some(serde_json::json!({ "serverOffset": last }))));
    });

    let list = NodeRef::<leptos::html::Ul>::new();
    // Keep the newest message in view.
    Effect::new(move |_| {
        messages.track();
        if let Some(ul) = list.get() {
            ul.set_scroll_top(ul.scroll_height());
        }
    });
    view! {
        <ul class="messages" data-testid="messages" node_ref=list>
            <For each=move || messages.get() key=|m| m.server_offset let(message)>
                <li class="message" data-testid="message" data-offset=message.server_offset>
                    <span class="content">{message.content}</span>
                </li>
            </For>
        </ul>
    }
}

/// The message box and send button.
#[component]
fn Composer() -> impl IntoView {
    let socket = use_socket();
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let sent = StoredValue::new(0u64);
    let session = StoredValue::new(String::new());

    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let content = text.get_untracked();
        if session.with_value(String::is_empty) {
            session.set_value(session_key());
        }
        let client_offset = format!("{}-{}", session.get_value(), sent.get_value());
        sent.update_value(|n| *n += 1);
        error.set(None);
        text.set(String::new());
        let args = (content.clone(), client_offset);
        let on_ack = move |result: Result<Payload, AckTimeout>| {
            let failure = match result.map(|p| p.decode::<AckReply<SentMessage>>()) {
                Ok(Ok(AckReply::Ok { .. })) => None,
                Ok(Ok(AckReply::Error { error })) => Some(error.message),
                Ok(Err(e)) => Some(format!("unexpected answer from the server: {e}")),
                Err(timeout) => Some(timeout.to_string()),
            };
            if let Some(message) = failure {
                // Give the text back so nothing typed is lost.
                text.update(|t| {
                    if t.is_empty() {
                        *t = content.clone();
                    }
                });
                error.set(Some(message));
            }
        };
        socket.with(|s| {
            if let Err(e) = s.timeout(SEND_TIMEOUT_MS).emit_with_callback(events::CHAT_MESSAGE, &args, on_ack) {
                error.set(Some(e.to_string()));
            }
        });
    };

    view! {
        <form class="composer" on:submit=send>
            <input
                data-testid="message-input"
                placeholder="Write a message"
                autocomplete="off"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
            />
            <button type="submit" data-testid="send-button">"Send"</button>
        </form>
        <p class="error" data-testid="send-error" role="alert" hidden=move || error.with(Option::is_none)>
            {move || error.get()}
        </p>
    }
}

/// A random key for this page's client offsets.
fn session_key() -> String {
    #[cfg(feature = "hydrate")]
    {
        let high = (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
        let low = js_sys::Date::now() as u64;
        format!("{high:x}{low:x}")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::from("ssr")
    }
}
