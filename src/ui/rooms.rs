//! The rooms panel: every room with its member count (live), join, leave, and which room
//! is on screen.

use leptos::prelude::*;

use super::effect;

use super::acks::{emit_tracked, use_acks};
use super::state::use_chat;
use super::unread::UnreadBadge;
use crate::protocol::{AckReply, Conversation, JoinedRoom, RoomInfo, events};
use socketio_browser::{ConnectionState, NoArgs, Payload, use_socket};

/// How long room requests wait for the server.
const ROOM_TIMEOUT_MS: u32 = 5000;

/// The panel.
#[component]
pub fn RoomsPanel() -> impl IntoView {
    let socket = use_socket();
    let chat = use_chat();
    let acks = use_acks();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);

    socket.on(events::ROOMS_UPDATED, move |payload: &Payload| match payload.decode::<Vec<RoomInfo>>() {
        Ok(rooms) => chat.rooms.set(rooms),
        Err(e) => leptos::logging::warn!("malformed rooms:updated: {e}"),
    });
    // On every (re)connection, ask for the rooms: counts may have changed meanwhile.
    effect(move || {
        if socket.state.with(ConnectionState::is_connected) {
            socket.with(|s| {
                emit_tracked(s.timeout(ROOM_TIMEOUT_MS), acks, events::ROOMS_LIST, &NoArgs, move |r| {
                    if let Ok(Ok(AckReply::Ok { data })) = r.map(|p| p.decode::<AckReply<Vec<RoomInfo>>>()) {
                        chat.rooms.set(data);
                    }
                })
            });
        }
    });

    let join = move |room: String| {
        error.set(None);
        socket.with(|s| {
            emit_tracked(s.timeout(ROOM_TIMEOUT_MS), acks, events::ROOM_JOIN, &room, move |result| {
                match result.map(|p| p.decode::<AckReply<JoinedRoom>>()) {
                    Ok(Ok(AckReply::Ok { data })) => {
                        chat.joined.update(|j| {
                            j.insert(data.room.clone());
                        });
                        chat.receive_page(Conversation::Room(data.room.clone()), data.history);
                        chat.view.set(Conversation::Room(data.room));
                        name.set(String::new());
                    }
                    Ok(Ok(AckReply::Error { error: e })) => error.set(Some(e.message)),
                    Ok(Err(e)) => error.set(Some(e.to_string())),
                    Err(timeout) => error.set(Some(timeout.to_string())),
                }
            })
        });
    };
    let leave = move |_| {
        let Some(room) = chat.room() else { return };
        let left = room.clone();
        socket.with(|s| {
            emit_tracked(s.timeout(ROOM_TIMEOUT_MS), acks, events::ROOM_LEAVE, &left, move |result| {
                if let Ok(Ok(AckReply::Ok { .. })) = result.map(|p| p.decode::<AckReply<RoomInfo>>()) {
                    chat.joined.update(|j| {
                        j.remove(&room);
                    });
                    chat.view.set(Conversation::Everyone);
                }
            })
        });
    };
    let own_room = move || match socket.state.get() {
        ConnectionState::Connected(id) => id,
        _ => "—".into(),
    };

    view! {
        <section class="panel rooms" data-testid="rooms-panel">
            <h2>"Rooms"</h2>
            <form class="room-form" on:submit=move |ev| {
                ev.prevent_default();
                join(name.get_untracked());
            }>
                <input
                    data-testid="room-input"
                    placeholder="Room name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
                <button type="submit" data-testid="room-join">"Join"</button>
            </form>
            <p class="error" data-testid="room-error" role="alert" hidden=move || error.with(Option::is_none)>
                {move || error.get()}
            </p>
            <ul class="room-list">
                <li
                    data-testid="room-everyone"
                    class:selected=move || chat.view.with(|v| *v == Conversation::Everyone)
                    on:click=move |_| chat.view.set(Conversation::Everyone)
                >
                    <span class="room-name">"Everyone"</span>
                    <UnreadBadge conversation=Conversation::Everyone label="everyone".to_owned() />
                </li>
                {move || chat.rooms.get().into_iter().map(|room| {
                        let name = room.name.clone();
                        let joined = { let name = name.clone(); move || chat.joined.with(|j| j.contains(&name)) };
                        let selected = { let name = name.clone(); move || chat.view.with(|v| matches!(v, Conversation::Room(r) if *r == name)) };
                        let click = { let name = name.clone(); move |_| {
                            if chat.joined.with_untracked(|j| j.contains(&name)) {
                                chat.view.set(Conversation::Room(name.clone()));
                            } else {
                                join(name.clone());
                            }
                        }};
                        view! {
                            <li
                                data-testid="room"
                                data-room=name.clone()
                                data-members=room.members
                                data-joined={ let joined = joined.clone(); move || joined().to_string() }
                                class:joined=joined
                                class:selected=selected
                                on:click=click
                                title="Click to open (joins it if needed)"
                            >
                                <span class="room-name">{name.clone()}</span>
                                <UnreadBadge conversation=Conversation::Room(name.clone()) label=name.clone() />
                                <span class="room-members" title="members">{room.members}</span>
                            </li>
                        }.into_any()
                }).collect::<Vec<_>>()}
            </ul>
            <button data-testid="room-leave" on:click=leave hidden=move || chat.room().is_none()>
                {move || format!("Leave {}", chat.room().unwrap_or_default())}
            </button>
            <p class="own-room">"This socket's own room: " <code data-testid="own-room">{own_room}</code></p>
        </section>
    }
}
