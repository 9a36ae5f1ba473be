//! The message box, the send target and the send button.

use leptos::prelude::*;

use super::effect;

use super::outbox::{Draft, use_outbox};
use super::state::use_chat;
use super::typing::use_typing;
use crate::protocol::{Conversation, Target};

/// The composer.
#[component]
pub fn Composer() -> impl IntoView {
    let chat = use_chat();
    let outbox = use_outbox();
    let typing = use_typing();
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // `all`, `room` (the room on screen) or `except` (everyone but it). A private
    // conversation has one recipient: the select is hidden there.
    let target = RwSignal::new(String::from("all"));
    effect(move || target.set(if chat.room().is_some() { "room".into() } else { "all".into() }));

    // A message the server refuses (empty, too long…) comes back to the box with the reason.
    outbox.on_refused(move |(refused, reason): (Draft, String)| {
        text.update(|t| {
            if t.is_empty() {
                *t = refused.content;
            }
        });
        error.set(Some(reason));
    });

    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let content = text.get_untracked();
        let view = chat.view.get_untracked();
        let to = match (target.get_untracked().as_str(), view.clone()) {
            (_, Conversation::User(user_id)) => Target::user(user_id),
            ("room", Conversation::Room(room)) => Target::room(room),
            ("except", Conversation::Room(room)) => Target::all_but(room),
            _ => Target::default(),
        };
        error.set(None);
        text.set(String::new());
        outbox.send(Draft { content, target: to, view });
    };

    let no_room = move || chat.room().is_none();
    let private = move || chat.view.with(|v| matches!(v, Conversation::User(_)));
    view! {
        <form class="composer" on:submit=send>
            <select
                data-testid="send-target"
                title="Who receives the message"
                aria-label="Who receives the message"
                hidden=private
                prop:value=move || target.get()
                on:change=move |ev| target.set(event_target_value(&ev))
            >
                <option value="all">"Everyone"</option>
                <option value="room" disabled=no_room>{move || format!("Room {}", chat.room().unwrap_or_default())}</option>
                <option value="except" disabled=no_room>{move || format!("All but {}", chat.room().unwrap_or_default())}</option>
            </select>
            <input
                data-testid="message-input"
                placeholder="Write a message"
                aria-label="Message"
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
