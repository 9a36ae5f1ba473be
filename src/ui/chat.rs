//! The chat page: rooms on the left, the conversation in the middle, the Socket.IO
//! panels (acknowledgements, event log) on the right.

use leptos::prelude::*;

use super::acks::{AckLog, AcksPanel};
use super::composer::Composer;
use super::event_log::{EventLog, EventLogPanel};
use super::history::latest_messages;
use super::identity::{Me, MeBadge, NicknameForm};
use super::messages::MessageList;
use super::outbox::Outbox;
use super::people::{PeoplePanel, follow_presence};
use super::rooms::RoomsPanel;
use super::state::ChatState;
use super::status::{ConnectToggle, ConnectionStatus};
use super::theme::ThemeToggle;
use super::time::Clock;
use super::typing::{Typing, TypingIndicator};
use super::unread::Unread;
use super::visibility::{TabTitle, Visibility};
use crate::protocol::{Broadcast, ChatMessage, HistoryPage, events};
use socketio_browser::{Payload, use_socket};

/// The page. The latest messages are in the server-rendered HTML; after hydration the
/// socket replays anything newer and appends live messages.
#[component]
pub fn ChatPage() -> impl IntoView {
    // Against another server (`?server=`), none of our history: its own comes by replay.
    let elsewhere = super::other_server().is_some();
    let history = OnceResource::new_blocking(async move {
        if elsewhere { Ok(HistoryPage { messages: Vec::new(), complete: true }) } else { latest_messages().await }
    });
    let chat = ChatState::provide();
    let socket = use_socket();
    let acks = AckLog::provide();
    Clock::provide();
    let visibility = Visibility::provide();
    let outbox = Outbox::provide(socket, acks, chat);
    EventLog::provide();
    Typing::provide();
    let me = Me::provide();
    let unread = Unread::provide();
    follow_presence();
    socket.on(events::CHAT_MESSAGE, move |payload: &Payload| match payload.decode::<Broadcast>() {
        Ok(args) => {
            let message = ChatMessage::from_broadcast(args);
            let ours = message.client_offset.as_deref().is_some_and(|offset| outbox.is_ours(offset));
            if let Some(offset) = &message.client_offset {
                outbox.delivered(offset);
            }
            if !ours {
                visibility.arrived();
            }
            let me = me.id();
            let conversation = message.conversation(me.as_deref());
            if let crate::protocol::Conversation::User(peer) = &conversation {
                chat.private.update(|p| {
                    p.insert(peer.clone());
                });
            }
            let on_screen = visibility.visible.get_untracked() && chat.view.with_untracked(|v| *v == conversation);
            unread.arrived(&message, me.as_deref(), on_screen);
            chat.receive([message]);
        }
        Err(e) => leptos::logging::warn!("malformed chat message: {e}"),
    });
    let title = move || chat.view.with(|view| chat.title(view));
    // On a phone the panels take turns on screen; Escape brings the conversation back.
    let panel = RwSignal::new(Panel::Chat);
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            panel.set(Panel::Chat);
        }
    });
    on_cleanup(move || handle.remove());
    let tab = move |which: Panel, label: &'static str, testid: &'static str| {
        view! {
            <button
                data-testid=testid
                aria-pressed=move || (panel.get() == which).to_string()
                on:click=move |_| panel.set(which)
            >
                {label}
            </button>
        }
    };

    view! {
        <TabTitle />
        <div class="app" data-panel=move || panel.get().as_str()>
            {view! {
            <header class="app-header">
                <h1>"socket-chat"</h1>
                <div class="connection">
                    <MeBadge />
                    <ConnectionStatus />
                    <ConnectToggle />
                    <ThemeToggle />
                </div>
            </header>
            }.into_any()}
            // Erased types (`into_any`): keeps the page's view type small enough to compile quickly.
            {view! {
                <nav class="sidebar" aria-label="Rooms and people">
                    <RoomsPanel />
                    <PeoplePanel />
                </nav>
            }.into_any()}
            {view! {
            <main class="chat">
                <h2 class="chat-title" data-testid="chat-title">{title}</h2>
                <NicknameForm />
                <Suspense fallback=|| view! { <p class="loading">"Loading messages…"</p> }>
                    {move || history.get().map(|history| match history {
                        Ok(history) => view! { <MessageList history /> }.into_any(),
                        Err(e) => view! {
                            <p class="error" data-testid="history-error">{format!("History unavailable: {e}")}</p>
                        }.into_any(),
                    })}
                </Suspense>
                <TypingIndicator />
                <Composer />
            </main>
            }.into_any()}
            {view! {
                <aside class="devtools" aria-label="Socket.IO panels">
                    <AcksPanel />
                    <EventLogPanel />
                </aside>
            }.into_any()}
            <nav class="tabs" aria-label="Panels">
                {tab(Panel::Chat, "Chat", "tab-chat")}
                {tab(Panel::Rooms, "Rooms", "tab-rooms")}
                {tab(Panel::Devtools, "Socket.IO", "tab-devtools")}
            </nav>
        </div>
    }
}

/// Which panel a narrow screen shows (a wide one shows them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    Chat,
    Rooms,
    Devtools,
}

impl Panel {
    fn as_str(self) -> &'static str {
        match self {
            Panel::Chat => "chat",
            Panel::Rooms => "rooms",
            Panel::Devtools => "devtools",
        }
    }
}
