//! Unread counts: `read:mark` moves a user's last-read offset in a conversation (every tab
//! and device of the session follows), `unread:list` counts what came after it.

use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use tracing::warn;

use super::{AppState, outgoing, rooms, users};
use crate::protocol::room::room_name;
use crate::protocol::user::is_id;
use crate::protocol::{AckError, AckErrorCode, AckReply, Conversation, ReadMark, UnreadCount, UserInfo, events};

fn no_session() -> AckError {
    AckError {
        code: AckErrorCode::NoSession,
        message: "choose a nickname first: unread counts belong to a user".into(),
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> AckError {
    warn!(error = %e, "read marks unavailable");
    AckError { code: AckErrorCode::Unavailable, message: "unread counts are unavailable, try again".into() }
}

/// Checks a conversation's name (a room name, a user id).
pub fn valid_conversation(conversation: Conversation) -> Result<Conversation, AckError> {
    match conversation {
        Conversation::Everyone => Ok(Conversation::Everyone),
        Conversation::Room(room) => Ok(Conversation::Room(room_name(&room)?)),
        Conversation::User(id) if is_id(&id) => Ok(Conversation::User(id)),
        Conversation::User(_) => {
            Err(AckError { code: AckErrorCode::InvalidArguments, message: "a user id has 32 hex digits".into() })
        }
    }
}

/// `read:mark`: the ack holds the mark kept (never lower than before); the user's other
/// sockets receive `read:marked`.
pub async fn on_read_mark<A: Adapter>(
    socket: SocketRef<A>,
    TryData(mark): TryData<ReadMark>,
    ack: AckSender<A>,
    State(state): State<AppState>,
) {
    let reply = match mark_read(&socket, mark, &state).await {
        Ok(mark) => {
            if let Some(user) = users::current(&socket) {
                outgoing::broadcast(socket.to(users::room(&user.user_id)), events::READ_MARKED, &mark).await;
            }
            AckReply::Ok { data: mark }
        }
        Err(error) => AckReply::from(error),
    };
    outgoing::ack(ack, &reply);
}

async fn mark_read<A: Adapter>(
    socket: &SocketRef<A>,
    mark: Result<ReadMark, socketioxide::ParserError>,
    state: &AppState,
) -> Result<ReadMark, AckError> {
    let mark = mark.map_err(|e| AckError {
        code: AckErrorCode::InvalidArguments,
        message: format!("expected {{ conversation, offset }}: {e}"),
    })?;
    let user: UserInfo = users::current(socket).ok_or_else(no_session)?;
    let conversation = valid_conversation(mark.conversation)?;
    let offset =
        state.store.mark_read(&user.user_id, &conversation, mark.offset.max(0)).await.map_err(|e| unavailable(&e))?;
    Ok(ReadMark { conversation, offset })
}

/// `unread:list`: the user's unread counts, for everyone, the rooms the socket is in and
/// their private conversations.
pub async fn on_unread_list<A: Adapter>(socket: SocketRef<A>, ack: AckSender<A>, State(state): State<AppState>) {
    let reply: AckReply<Vec<UnreadCount>> = match users::current(&socket) {
        None => AckReply::from(no_session()),
        Some(user) => match state.store.unread(&user.user_id, &rooms::joined(&socket)).await {
            Ok(counts) => AckReply::Ok { data: counts },
            Err(e) => AckReply::from(unavailable(&e)),
        },
    };
    outgoing::ack(ack, &reply);
}
