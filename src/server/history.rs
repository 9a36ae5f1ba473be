//! `messages:history`: older messages, a page at a time (cursor pagination by offset).

use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use tracing::warn;

use super::store::{PageOf, StoreError};
use super::{AppState, outgoing, rooms, users};
use crate::protocol::message::MAX_HISTORY_PAGE;
use crate::protocol::room::room_name;
use crate::protocol::user::is_id;
use crate::protocol::{AckError, AckErrorCode, AckReply, HistoryPage, HistoryRequest};

/// Answers a page of history of a room the socket is in, of a private conversation of its
/// user, or of the messages to everyone.
pub async fn on_history<A: Adapter>(
    socket: SocketRef<A>,
    TryData(request): TryData<HistoryRequest>,
    ack: AckSender<A>,
    State(state): State<AppState>,
) {
    let reply = match page(&socket, request, &state).await {
        Ok(page) => AckReply::Ok { data: page },
        Err(error) => AckReply::from(error),
    };
    outgoing::ack(ack, &reply);
}

async fn page<A: Adapter>(
    socket: &SocketRef<A>,
    request: Result<HistoryRequest, socketioxide::ParserError>,
    state: &AppState,
) -> Result<HistoryPage, AckError> {
    let request = request.map_err(|e| AckError {
        code: AckErrorCode::InvalidArguments,
        message: format!("expected {{ room?, user?, before?, limit? }}: {e}"),
    })?;
    if request.room.is_some() && request.user.is_some() {
        return Err(AckError { code: AckErrorCode::InvalidArguments, message: "a room or a user, not both".into() });
    }
    let room = request.room.as_deref().map(room_name).transpose()?;
    if let Some(room) = &room
        && !rooms::joined(socket).contains(room)
    {
        return Err(AckError { code: AckErrorCode::NotAMember, message: format!("join the room {room} to read it") });
    }
    let me = users::current(socket);
    let of = match (&room, &request.user) {
        (Some(room), _) => PageOf::Room(room),
        (None, Some(peer)) => {
            if !is_id(peer) {
                return Err(AckError {
                    code: AckErrorCode::InvalidArguments,
                    message: "a user id has 32 hex digits".into(),
                });
            }
            let me = me.as_ref().ok_or_else(|| AckError {
                code: AckErrorCode::NoSession,
                message: "choose a nickname to read private messages".into(),
            })?;
            PageOf::Private { me: &me.user_id, peer }
        }
        (None, None) => PageOf::Everyone,
    };
    let limit = request.limit.unwrap_or(state.config.history_page_size).clamp(1, MAX_HISTORY_PAGE);
    read(state, of, request.before, limit).await.map_err(|e| {
        warn!(error = %e, "history failed");
        AckError { code: AckErrorCode::Unavailable, message: "the history is unavailable, try again".into() }
    })
}

/// The `limit` latest messages of `of` older than `before`, with
/// whether there is anything older: for `messages:history`, `room:join` and the page's
/// server-rendered history alike.
pub async fn read(
    state: &AppState,
    of: PageOf<'_>,
    before: Option<i64>,
    limit: u32,
) -> Result<HistoryPage, StoreError> {
    let messages = state.store.page(of, before, limit).await?;
    Ok(HistoryPage { complete: messages.len() < limit as usize, messages })
}
