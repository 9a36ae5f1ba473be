//! The message box, the send target and the send button.

use leptos::prelude::*;

use super::acks::{emit_tracked, use_acks};
use super::state::use_chat;
use super::typing::use_typing;
use crate::client::{AckTimeout, Payload, use_socket};
use crate::protocol::{AckReply, SentMessage, Target, events};

/// How long the composer waits for the server to acknowledge a message.
const SEND_TIMEOUT_MS: u32 = 10_000;

/// The composer.
#[component]
pub fn Composer() -> impl IntoView {
    let socket = use_socket();
    let chat = use_chat();
    let acks = use_acks();
    let typing = use_typing();
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // `all`, `room` (the room on screen) or `except` (everyone but it).
    let target = RwSignal::new(String::from("all"));
    Effect::new(move |_| target.set(if chat.view.with(Option::is_some) { "room".into() } else { "all".into() }));
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
        let room = chat.view.get_untracked();
        let to = match (target.get_untracked().as_str(), room) {
            ("room", Some(room)) => Target { to: Some(room), except: None },
            ("except", Some(room)) => Target { to: None, except: Some(room) },
            _ => Target::default(),
        };
        error.set(None);
        text.set(String::new());
        let args = (content.clone(), client_offset, to);
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
        socket.with(|s| emit_tracked(s, acks, events::CHAT_MESSAGE, &args, SEND_TIMEOUT_MS, on_ack));
    };

    let no_room = move || chat.view.with(Option::is_none);
    view! {
        <form class="composer" on:submit=send>
            <select
                data-testid="send-target"
                title="Who receives the message"
                prop:value=move || target.get()
                on:change=move |ev| target.set(event_target_value(&ev))
            >
                <option value="all">"Everyone"</option>
                <option value="room" disabled=no_room>{move || format!("Room {}", chat.view.get().unwrap_or_default())}</option>
                <option value="except" disabled=no_room>{move || format!("All but {}", chat.view.get().unwrap_or_default())}</option>
            </select>
            <input
                data-testid="message-input"
                placeholder="Write a message"
                autocomplete="off"
                prop:value=move || text.get()
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    typing.notify(chat.view.get_untracked());
                }
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
