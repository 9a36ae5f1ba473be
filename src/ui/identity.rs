//! Who this page is: the session the server gave it (kept in `localStorage`, so reloads and
//! other tabs are the same person), its nickname, and the form to choose or change it.

use leptos::prelude::*;

use super::acks::{emit_tracked, use_acks};
use super::state::use_chat;
use crate::protocol::{AckReply, Identity, SessionState, UserInfo, events};
use socketio_browser::{Payload, use_socket};

/// Where the session id is kept.
#[cfg(feature = "hydrate")]
const STORAGE_KEY: &str = "socket-chat.session";

/// This page's user. `Copy`: every field is a signal.
#[derive(Clone, Copy)]
pub struct Me {
    /// The user, once the server has said who it takes this page for (`None`: anonymous).
    pub user: RwSignal<Option<UserInfo>>,
    /// The secret session id, given back in the handshake auth.
    pub session: RwSignal<Option<String>>,
    /// Whether the server has answered `session` since the page loaded.
    pub known: RwSignal<bool>,
    /// Whether the nickname form is open while a nickname is set.
    pub editing: RwSignal<bool>,
}

impl Me {
    /// Reads the kept session and listens for `session` and `user:renamed`.
    pub fn provide() -> Self {
        let me = Self {
            user: RwSignal::new(None),
            session: RwSignal::new(load()),
            known: RwSignal::new(false),
            editing: RwSignal::new(false),
        };
        provide_context(me);
        let chat = use_chat();
        let socket = use_socket();
        socket.on(events::SESSION, move |payload: &Payload| {
            let Ok(SessionState { user }) = payload.decode::<SessionState>() else { return };
            if user.is_none() && me.session.get_untracked().is_some() {
                // The server does not know this session (a new database): start again.
                me.session.set(None);
                save(None);
            }
            if let Some(user) = &user {
                chat.meet([user.clone()]);
            }
            me.user.set(user);
            me.known.set(true);
        });
        socket.on(events::USER_RENAMED, move |payload: &Payload| {
            let Ok(user) = payload.decode::<UserInfo>() else { return };
            if me.user.with_untracked(|u| u.as_ref().is_some_and(|u| u.user_id == user.user_id)) {
                me.user.set(Some(user.clone()));
            }
            chat.meet([user]);
        });
        follow_other_tabs(me, socket);
        me
    }

    /// This user's id, if any.
    pub fn id(&self) -> Option<String> {
        self.user.with(|u| u.as_ref().map(|u| u.user_id.clone()))
    }
}

/// The page's [`Me`].
pub fn use_me() -> Me {
    expect_context::<Me>()
}

/// Another tab chose a nickname: this one becomes the same person (it reconnects with the
/// session, so the server puts it in the user's room and presence counts it once).
#[cfg(feature = "hydrate")]
fn follow_other_tabs(me: Me, socket: socketio_browser::SocketContext) {
    let handle = window_event_listener(leptos::ev::storage, move |ev| {
        if ev.key().as_deref() != Some(STORAGE_KEY) || ev.new_value() == me.session.get_untracked() {
            return;
        }
        me.session.set(ev.new_value());
        // The auth effect (messages.rs) has the new session before the reconnection.
        request_animation_frame(move || {
            socket.with(|s| {
                s.disconnect();
                s.connect();
            });
        });
    });
    on_cleanup(move || handle.remove());
}

#[cfg(not(feature = "hydrate"))]
fn follow_other_tabs(_: Me, _: socketio_browser::SocketContext) {}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

#[cfg(feature = "hydrate")]
fn load() -> Option<String> {
    storage()?.get_item(STORAGE_KEY).ok()?
}

#[cfg(not(feature = "hydrate"))]
fn load() -> Option<String> {
    None
}

#[cfg(feature = "hydrate")]
fn save(session: Option<&str>) {
    if let Some(storage) = storage() {
        let _ = match session {
            Some(id) => storage.set_item(STORAGE_KEY, id),
            None => storage.remove_item(STORAGE_KEY),
        };
    }
}

#[cfg(not(feature = "hydrate"))]
fn save(_: Option<&str>) {}

/// The nickname form: open on a first visit (and while editing), a name and an edit
/// button otherwise.
#[component]
pub fn NicknameForm() -> impl IntoView {
    let me = use_me();
    let socket = use_socket();
    let acks = use_acks();
    let input = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let open = move || me.known.get() && (me.user.with(Option::is_none) || me.editing.get());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = input.get_untracked();
        if name.trim().is_empty() || saving.get_untracked() {
            return;
        }
        saving.set(true);
        socket.with(|s| {
            emit_tracked(s.timeout(5_000), acks, events::USER_NICKNAME, &(name,), move |result| {
                saving.set(false);
                match result.map(|p| p.decode::<AckReply<Identity>>()) {
                    Ok(Ok(AckReply::Ok { data: identity })) => {
                        save(Some(&identity.session_id));
                        me.session.set(Some(identity.session_id));
                        me.user.set(Some(identity.user));
                        me.editing.set(false);
                        error.set(None);
                    }
                    Ok(Ok(AckReply::Error { error: e })) => error.set(Some(e.message)),
                    Ok(Err(e)) => error.set(Some(format!("unexpected answer: {e}"))),
                    Err(e) => error.set(Some(format!("not saved ({e}); try again"))),
                }
            })
        });
    };
    view! {
        <Show when=open>
            <form class="nickname-form" data-testid="nickname-form" on:submit=submit>
                <label for="nickname">
                    {move || if me.user.with(Option::is_none) { "Choose a nickname to chat as someone" } else { "Your nickname" }}
                </label>
                <div class="nickname-row">
                    <input
                        id="nickname"
                        data-testid="nickname-input"
                        maxlength="32"
                        autocomplete="nickname"
                        placeholder="Ada"
                        prop:value=move || input.get()
                        on:input=move |ev| input.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            if ev.key() == "Escape" {
                                me.editing.set(false);
                            }
                        }
                    />
                    <button type="submit" data-testid="nickname-save" disabled=move || saving.get()>"Save"</button>
                </div>
                {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="nickname-error">{e}</p> })}
            </form>
        </Show>
    }
}

/// The header's "you are Ada" button, which opens the form.
#[component]
pub fn MeBadge() -> impl IntoView {
    let me = use_me();
    view! {
        {move || me.user.get().map(|user| {
            let label = format!("You are {}: change your nickname", user.nickname);
            let name = user.nickname;
            view! {
                <button
                    class="me"
                    data-testid="me"
                    data-user=name.clone()
                    aria-label=label
                    title="Change your nickname"
                    on:click=move |_| me.editing.update(|e| *e = !*e)
                >
                    {name.clone()}
                </button>
            }
        })}
    }
}
