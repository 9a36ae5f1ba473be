//! Who is here: the people online in the conversation on screen (live, from the server's
//! `presence`), the private conversations with their unread counts, and the join and leave
//! notices in the conversations.

use leptos::prelude::*;

use super::identity::use_me;
use super::state::use_chat;
use super::unread::UnreadBadge;
use crate::protocol::{Conversation, Presence, events};
use socketio_browser::{Payload, use_socket};

/// Listens for `presence`: keeps the list, and turns each change into notices (not about
/// oneself; not for the first snapshot, which is the state of things, not news).
pub fn follow_presence() {
    let chat = use_chat();
    let me = use_me();
    use_socket().on(events::PRESENCE, move |payload: &Payload| {
        let Ok(presence) = payload.decode::<Presence>() else { return };
        chat.meet(presence.users.iter().map(|u| u.user.clone()));
        if chat.presence_known.get_untracked() {
            let change = presence.change_from(&chat.presence.get_untracked());
            let me = me.id();
            let others = |id: &str| Some(id) != me.as_deref();
            for user in change.arrived.iter().filter(|u| others(&u.user_id)) {
                chat.notice(Conversation::Everyone, format!("{} is online", user.nickname));
            }
            for user in change.left.iter().filter(|u| others(&u.user_id)) {
                chat.notice(Conversation::Everyone, format!("{} went offline", user.nickname));
            }
            for (room, user) in change.joined.iter().filter(|(_, u)| others(&u.user_id)) {
                chat.notice(Conversation::Room(room.clone()), format!("{} joined #{room}", user.nickname));
            }
            for (room, user) in change.parted.iter().filter(|(_, u)| others(&u.user_id)) {
                chat.notice(Conversation::Room(room.clone()), format!("{} left #{room}", user.nickname));
            }
        }
        chat.presence.set(presence);
        chat.presence_known.set(true);
    });
}

/// The people online in the view (everyone online, a room's members, or the two of a
/// private conversation), each a way to write to them privately; then the private
/// conversations.
#[component]
pub fn PeoplePanel() -> impl IntoView {
    let chat = use_chat();
    let me = use_me();
    let online = move || {
        let view = chat.view.get();
        chat.presence.with(|p| {
            let room = match &view {
                Conversation::Room(room) => Some(room.as_str()),
                _ => None,
            };
            let mut users: Vec<_> = p.in_room(room).cloned().collect();
            if let Conversation::User(peer) = &view {
                let me = me.id();
                users.retain(|u| u.user_id == *peer || Some(&u.user_id) == me.as_ref());
            }
            users
        })
    };
    let conversations = move || {
        let ids: Vec<String> = chat.private.with(|p| p.iter().cloned().collect());
        ids.into_iter().map(|id| (chat.nickname(&id).unwrap_or_else(|| "someone".into()), id)).collect::<Vec<_>>()
    };
    view! {
        <section class="panel people" data-testid="people-panel">
            <h2>
                "Online "
                <span class="count" data-testid="online-count">{move || online().len()}</span>
            </h2>
            <ul class="people-list">
                {move || online().into_iter().map(|user| {
                        let id = user.user_id.clone();
                        let nickname = user.nickname.clone();
                        let mine = { let id = id.clone(); move || me.id().as_deref() == Some(id.as_str()) };
                        let write = move || {
                            let (id, nickname) = (id.clone(), nickname.clone());
                            view! {
                                <button
                                    class="link"
                                    data-testid="private-message-open"
                                    aria-label=format!("Message {nickname} privately")
                                    disabled=move || me.user.with(Option::is_none)
                                    title=move || if me.user.with(Option::is_none) { "Choose a nickname first" } else { "Private message" }
                                    on:click=move |_| chat.open_private(id.clone())
                                >
                                    "Message"
                                </button>
                            }
                        };
                        view! {
                            <li class="person" data-testid="online-user" data-user=user.nickname.clone()>
                                <span class="presence-dot" aria-hidden="true"></span>
                                <span class="person-name">{user.nickname.clone()}</span>
                                // Reactive: who "me" is may be learnt after the list is drawn.
                                <Show when=mine fallback=write>
                                    <span class="you">"(you)"</span>
                                </Show>
                            </li>
                        }.into_any()
                }).collect::<Vec<_>>()}
            </ul>
            <Show when=move || chat.private.with(|p| !p.is_empty())>
                <h2>"Private"</h2>
                <ul class="room-list">
                    {move || conversations().into_iter().map(|(nickname, id)| {
                            let conversation = Conversation::User(id.clone());
                            let selected = { let c = conversation.clone(); move || chat.view.with(|v| *v == c) };
                            let open = { let id = id.clone(); move |_| chat.open_private(id.clone()) };
                            view! {
                                <li data-testid="conversation" data-user=nickname.clone() class:selected=selected on:click=open>
                                    <button class="room-name link">{format!("@ {nickname}")}</button>
                                    <UnreadBadge conversation label=format!("@{nickname}") />
                                </li>
                            }.into_any()
                    }).collect::<Vec<_>>()}
                </ul>
            </Show>
        </section>
    }
}
