//! The chat namespace `/`: connection (rooms restored, missed messages replayed) and
//! `chat message`.
//!
//! Order inside a handler: validate, persist and broadcast (the writer), ack.

use std::convert::Infallible;
use std::sync::Arc;

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use tokio::sync::watch;
use tracing::{debug, warn};

use super::admin::hooks::observed;
use super::limits::guarded;
use super::replay::{self, Pace, ReplayError};
use super::routes::{self, Route, Routes, route};
use super::writer::{self, CaughtUp};
use super::{AppState, history, outgoing, presence, rooms, tutorial, unread, users};
use crate::protocol::room::room_name;
use crate::protocol::user::is_id;
use crate::protocol::{
    AckError, AckErrorCode, AckReply, HandshakeAuth, SendMessageArgs, SentMessage, SessionState, Target, TypingNotice,
    events,
};

/// Runs before the server answers a CONNECT on `/` (a socketioxide middleware): the
/// handlers must be in place before the client can emit, or its first events would find
/// none (the connect handler itself runs after the answer).
pub async fn register<A: Adapter>(
    socket: SocketRef<A>,
    TryData(auth): TryData<HandshakeAuth>,
    State(state): State<AppState>,
) -> Result<(), Infallible> {
    users::identify(&socket, &auth.unwrap_or_default(), &state).await;
    let (live, caught_up) = watch::channel(false);
    socket.extensions.insert(CaughtUp(caught_up));
    socket.extensions.insert(Joining { from: state.writer.broadcast_up_to(), live: Arc::new(live) });
    routes::register::<A, ChatRoutes>(&socket);
    rooms::register(&socket);
    Ok(())
}

/// The events of `/`: the chat's, the rooms' and the tutorial's (src/server/routes.rs).
struct ChatRoutes;

impl<A: Adapter> Routes<A> for ChatRoutes {
    fn route(event: &str) -> Option<Route<A>> {
        // guarded(): the limits (src/server/limits.rs); observed(): the Admin UI's
        // event_received (src/server/admin/hooks.rs).
        let route: Route<A> = match event {
            events::CHAT_MESSAGE => route!(guarded(observed(on_chat_message))),
            events::TYPING => route!(guarded(observed(on_typing))),
            events::MESSAGES_HISTORY => route!(guarded(observed(history::on_history))),
            events::USER_NICKNAME => route!(guarded(observed(users::on_nickname))),
            events::READ_MARK => route!(guarded(observed(unread::on_read_mark))),
            events::UNREAD_LIST => route!(guarded(observed(unread::on_unread_list))),
            _ => return rooms::route(event).or_else(|| tutorial::route(event)),
        };
        Some(route)
    }

    fn other() -> Route<A> {
        tutorial::other()
    }
}

/// A socket on its way live, until it is (one extension, not two: see `go_live`).
#[derive(Clone)]
struct Joining {
    /// Where a socket connecting without an offset starts: the last message broadcast
    /// before its CONNECT was answered.
    from: i64,
    /// Tells the socket's handlers it has gone live.
    live: Arc<watch::Sender<bool>>,
}

/// A socket connected to `/`: replay what it missed, then let it go live in its rooms
/// (through the writer, so no broadcast slips in between).
///
/// socketioxide runs this in a task of its own, whose allocation is the size of its
/// largest state, whatever state it is in: the store's and the adapter's futures (a
/// replay, a presence change, a room list) made it about 4.3 KB (heaptrack), held by
/// every connecting socket while it waits for the writer. They are boxed: allocated only
/// while they run.
pub async fn on_connect<A: Adapter>(
    io: SocketIo<A>,
    socket: SocketRef<A>,
    TryData(auth): TryData<HandshakeAuth>,
    State(state): State<AppState>,
) {
    debug!(sid = %socket.id, "connected");
    // Who the server takes it for: first, so the page knows before any message arrives.
    let session = SessionState { user: users::current(&socket) };
    if outgoing::emit(&socket, events::SESSION, &session).await.is_err() {
        return;
    }
    // A malformed auth is not fatal: the client simply gets no rooms and no replay.
    let auth = auth.unwrap_or_default();
    let restored: Vec<String> = auth.rooms.iter().filter_map(|r| room_name(r).ok()).collect();
    let after = match auth.server_offset {
        Some(offset) => match Box::pin(replay(&socket, &state, offset, &restored)).await {
            Some(last) => last,
            None => return,
        },
        // No offset, no replay: live from the CONNECT on (the writer sends what was
        // broadcast between the CONNECT and now).
        None => socket.extensions.get::<Joining>().map_or(i64::MAX, |joining| joining.from),
    };
    Box::pin(state.writer.go_live(socket.clone(), after, restored.clone())).await;
    gone_live(&socket);
    if !restored.is_empty() {
        Box::pin(state.announcer.announce(&io)).await;
    }
    Box::pin(presence::connected(&io, &socket, &state)).await;
}

/// Tells the socket's handlers it is live, and drops what only joining needed: the watch
/// channel (its shared state is about 400 B) and two boxed extensions, for every socket
/// that stays connected. A handler that took the receiver before sees `true` at once, and
/// one that looks later finds no [`CaughtUp`] and does not wait.
fn gone_live<A: Adapter>(socket: &SocketRef<A>) {
    if let Some(joining) = socket.extensions.remove::<Joining>() {
        let _ = joining.live.send(true);
    }
    socket.extensions.remove::<CaughtUp>();
}

/// Server delivery, the bulk of it: every stored message after `offset` that the socket
/// may see. Returns the last offset sent (the writer sends the rest), or `None` when the
/// socket is gone.
async fn replay<A: Adapter>(socket: &SocketRef<A>, state: &AppState, mut offset: i64, rooms: &[String]) -> Option<i64> {
    let until = state.writer.broadcast_up_to();
    match replay::send_after(socket, &state.store, &mut offset, until, rooms, Pace::Wait).await {
        Ok(()) => Some(offset),
        // The writer's catch-up reads the store again from where this stopped.
        Err(ReplayError::Store(e)) => {
            warn!(sid = %socket.id, error = %e, "replay failed");
            Some(offset)
        }
        Err(ReplayError::TooSlow) => None,
    }
}

/// A `chat message` that passed validation.
#[derive(Debug, PartialEq)]
struct Valid {
    content: String,
    client_offset: Option<String>,
    target: Target,
}

/// `chat message`: validate, store once per client offset, ack, broadcast to its recipients.
pub async fn on_chat_message<A: Adapter>(
    socket: SocketRef<A>,
    TryData(args): TryData<SendMessageArgs>,
    ack: AckSender<A>,
    State(state): State<AppState>,
) {
    // A message sent on connection waits until the socket is back in its rooms.
    CaughtUp::wait_for(&socket).await;
    let valid = match validate(args, state.config.max_message_bytes) {
        Ok(valid) => valid,
        Err(error) => return outgoing::ack(ack, &AckReply::<SentMessage>::from(error)),
    };
    let author = users::current(&socket);
    if let Some(recipient) = &valid.target.user {
        let error = match (&author, state.store.user(recipient).await) {
            (None, _) => Some(AckError {
                code: AckErrorCode::NoSession,
                message: "choose a nickname to send private messages".into(),
            }),
            (Some(_), Ok(Some(_))) => None,
            (Some(_), Ok(None)) => {
                Some(AckError { code: AckErrorCode::UnknownUser, message: format!("no user has the id {recipient}") })
            }
            (Some(_), Err(e)) => {
                warn!(error = %e, "cannot look up a user");
                Some(AckError { code: AckErrorCode::Unavailable, message: "try again".into() })
            }
        };
        if let Some(error) = error {
            return outgoing::ack(ack, &AckReply::<SentMessage>::from(error));
        }
    }
    if let Some(room) = &valid.target.to
        && !rooms::joined(&socket).contains(room)
    {
        let error = AckError { code: AckErrorCode::NotAMember, message: format!("join the room {room} to send to it") };
        return outgoing::ack(ack, &AckReply::<SentMessage>::from(error));
    }
    let message = writer::Message {
        content: valid.content,
        client_offset: valid.client_offset,
        room: valid.target.to,
        except: valid.target.except,
        author,
        recipient: valid.target.user,
    };
    let reply = match state.writer.store(message).await {
        Ok(sent) => AckReply::Ok { data: sent },
        Err(e) => {
            warn!(sid = %socket.id, error = %e, "storing a message failed");
            AckReply::error(AckErrorCode::Unavailable, "the message could not be stored, try again")
        }
    };
    outgoing::ack(ack, &reply);
}

/// `typing`: tells everyone but the sender (in the room, when one is given).
async fn on_typing<A: Adapter>(socket: SocketRef<A>, TryData(room): TryData<Option<String>>) {
    // Typing is volatile and unacknowledged: a malformed notice is simply not passed on.
    let room = match room {
        Ok(None) => None,
        Ok(Some(room)) => match room_name(&room) {
            Ok(room) => Some(room),
            Err(_) => return,
        },
        Err(e) => return debug!(sid = %socket.id, error = %e, "typing with a room that is not a string"),
    };
    let nickname = users::current(&socket).map(|u| u.nickname);
    let notice = TypingNotice { id: socket.id.to_string(), room: room.clone(), nickname };
    let recipients = match &room {
        Some(room) if rooms::joined(&socket).contains(room) => socket.to(rooms::key(room)),
        Some(_) => return,
        None => socket.broadcast(),
    };
    outgoing::broadcast(recipients, events::TYPING, &notice).await;
}

/// Checks the arguments of `chat message`.
fn validate(args: Result<SendMessageArgs, socketioxide::ParserError>, max_bytes: usize) -> Result<Valid, AckError> {
    let invalid = |message: String| AckError { code: AckErrorCode::InvalidArguments, message };
    let args = args.map_err(|e| invalid(format!("expected (content, clientOffset, target): {e}")))?;
    let serde_json::Value::String(content) = args.content else {
        return Err(invalid("the message must be a string".into()));
    };
    if content.trim().is_empty() {
        return Err(AckError { code: AckErrorCode::Empty, message: "the message is empty".into() });
    }
    if content.len() > max_bytes {
        return Err(AckError {
            code: AckErrorCode::TooLong,
            message: format!("the message is {} bytes long, the limit is {max_bytes}", content.len()),
        });
    }
    let target = args.target;
    if [target.to.is_some(), target.except.is_some(), target.user.is_some()].iter().filter(|&&set| set).count() > 1 {
        return Err(invalid("send to a room, to everyone but a room, or to a user: one of them".into()));
    }
    if let Some(user) = &target.user
        && !is_id(user)
    {
        return Err(invalid("a user id has 32 hex digits".into()));
    }
    let target = Target {
        to: target.to.as_deref().map(room_name).transpose()?,
        except: target.except.as_deref().map(room_name).transpose()?,
        user: target.user,
    };
    Ok(Valid { content, client_offset: args.client_offset, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(content: serde_json::Value, target: Target) -> Result<SendMessageArgs, socketioxide::ParserError> {
        Ok(SendMessageArgs { content, client_offset: Some("c".into()), target })
    }

    fn code(r: Result<Valid, AckError>) -> AckErrorCode {
        r.expect_err("expected an error").code
    }

    #[test]
    fn rejects_empty_long_and_non_string_messages() {
        let all = Target::default;
        assert_eq!(code(validate(args("  ".into(), all()), 10)), AckErrorCode::Empty);
        assert_eq!(code(validate(args("é".repeat(6).into(), all()), 10)), AckErrorCode::TooLong);
        assert_eq!(code(validate(args(42.into(), all()), 10)), AckErrorCode::InvalidArguments);
        assert_eq!(validate(args("hello".into(), all()), 10).unwrap().content, "hello");
    }

    #[test]
    fn checks_targets() {
        let both = Target { to: Some("a".into()), except: Some("b".into()), user: None };
        assert_eq!(code(validate(args("hi".into(), both), 10)), AckErrorCode::InvalidArguments);
        let blank = Target { to: Some("  ".into()), ..Target::default() };
        assert_eq!(code(validate(args("hi".into(), blank), 10)), AckErrorCode::InvalidArguments);
        let padded = Target { except: Some(" rust ".into()), ..Target::default() };
        assert_eq!(validate(args("hi".into(), padded), 10).unwrap().target.except.as_deref(), Some("rust"));
    }
}
