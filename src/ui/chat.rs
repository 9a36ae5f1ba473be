//! The chat page: rooms on the left, the conversation in the middle, the Socket.IO
//! panels (acknowledgements, event log) on the right.

use leptos::prelude::*;

use super::acks::{AckLog, AcksPanel};
use super::composer::Composer;
use super::event_log::{EventLog, EventLogPanel};
use super::history::latest_messages;
use super::messages::MessageList;
use super::outbox::Outbox;
use super::rooms::RoomsPanel;
use super::state::ChatState;
use super::status::{ConnectToggle, ConnectionStatus};
use super::typing::{Typing, TypingIndicator};
use crate::protocol::{Broadcast, ChatMessage, events};
use socketio_browser::{Payload, use_socket};

/// The page. The latest messages are in the server-rendered HTML; after hydration the
/// socket replays anything newer and appends live messages.
#[component]
pub fn ChatPage() -> impl IntoView {
    let history = Resource::new_blocking(|| (), |()| latest_messages());
    let chat = ChatState::provide();
    let socket = use_socket();
    let acks = AckLog::provide();
    let outbox = Outbox::provide(socket, acks, chat);
    EventLog::provide();
    Typing::provide();
    socket.on(events::CHAT_MESSAGE, move |payload: &Payload| match payload.decode::<Broadcast>() {
        Ok(args) => {
            let message = ChatMessage::from_broadcast(args);
            if let Some(offset) = &message.client_offset {
                outbox.delivered(offset);
            }
            chat.receive([message]);
        }
        Err(e) => leptos::logging::warn!("malformed chat message: {e}"),
    });
    let title = move || chat.view.get().map_or_else(|| "Everyone".to_owned(), |room| format!("# {room}"));

    view! {
        <div class="app">
            <header class="app-header">
                <h1>"socket-chat"</h1>
                <div class="connection">
                    <ConnectionStatus />
                    <ConnectToggle />
                </div>
            </header>
            <RoomsPanel />
            <main class="chat">
                <h2 class="chat-title" data-testid="chat-title">{title}</h2>
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
            <aside class="devtools">
                <AcksPanel />
                <EventLogPanel />
            </aside>
        </div>
    }
}
