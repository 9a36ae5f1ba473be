//! Chat rooms on `/`: join, leave, list, and member counts pushed live to everyone.
//!
//! A chat room `rust` is the socketioxide room `room:rust` ([`key`]), so chat rooms never
//! mix with the room socket.io gives each socket (its id).

use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use tracing::warn;

use super::admin::hooks::{observed, observed_disconnect};
use super::limits::guarded;
use super::{AppState, history, outgoing};
use crate::protocol::room::room_name;
use crate::protocol::{AckError, AckErrorCode, AckReply, JoinedRoom, RoomInfo, events};

const PREFIX: &str = "room:";

/// Every socket that has been caught up: the audience of messages to everyone. A socket
/// joins it only after its replay ([`Writer::go_live`](super::writer::Writer::go_live)).
pub const LIVE: &str = "chat:live";

/// The socketioxide room of chat room `name`.
pub fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// The chat rooms `socket` is in, by name.
pub fn joined(socket: &SocketRef) -> Vec<String> {
    socket.rooms().iter().filter_map(|r| r.strip_prefix(PREFIX).map(str::to_owned)).collect()
}

/// Registers the room handlers on a socket that just connected.
pub fn register(socket: &SocketRef) {
    // guarded(): the limits (src/server/limits.rs); observed(): the Admin UI's event_received
    // and socket_disconnected (src/server/admin/hooks.rs).
    socket.on(events::ROOM_JOIN, guarded(observed(on_join)));
    socket.on(events::ROOM_LEAVE, guarded(observed(on_leave)));
    socket.on(events::ROOMS_LIST, guarded(observed(on_list)));
    socket.on_disconnect(observed_disconnect(on_disconnect));
}

/// Every chat room with its member count, by name.
pub async fn list(io: &SocketIo) -> Vec<RoomInfo> {
    let rooms = match io.rooms().await {
        Ok(rooms) => rooms,
        Err(e) => {
            warn!(error = %e, "cannot list rooms");
            return Vec::new();
        }
    };
    let mut list: Vec<RoomInfo> = rooms
        .iter()
        .filter_map(|room| {
            let name = room.strip_prefix(PREFIX)?;
            Some(RoomInfo { name: name.to_owned(), members: io.within(room.to_string()).sockets().len() })
        })
        .filter(|r| r.members > 0)
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// Tells everyone the rooms and their member counts.
pub async fn announce(io: &SocketIo) {
    let rooms = list(io).await;
    outgoing::broadcast(io.broadcast(), events::ROOMS_UPDATED, &(rooms,)).await;
}

/// `room:join`: joins (creating) a room; the ack carries its latest messages.
async fn on_join(
    io: SocketIo,
    socket: SocketRef,
    TryData(name): TryData<String>,
    ack: AckSender,
    State(state): State<AppState>,
) {
    let name = match name.map_err(|_| invalid()).and_then(|n| room_name(&n)) {
        Ok(name) => name,
        Err(error) => return outgoing::ack(ack, &AckReply::<()>::from(error)),
    };
    let joined = joined(&socket);
    let max = state.config.max_rooms_per_socket;
    if !joined.contains(&name) && joined.len() >= max {
        let error =
            AckError { code: AckErrorCode::TooManyRooms, message: format!("a socket is in at most {max} rooms") };
        return outgoing::ack(ack, &AckReply::<()>::from(error));
    }
    // Join first, then read: a message sent in between arrives live and is in the history
    // too (the client keeps one copy per offset) rather than in neither.
    socket.join(key(&name));
    let history = match history::read(&state, Some(&name), None, state.config.history_page_size).await {
        Ok(history) => history,
        Err(e) => {
            warn!(error = %e, "room history failed");
            socket.leave(key(&name));
            let reply: AckReply<()> = AckReply::error(AckErrorCode::Unavailable, "the room's history is unavailable");
            return outgoing::ack(ack, &reply);
        }
    };
    let members = io.within(key(&name)).sockets().len();
    outgoing::ack(ack, &AckReply::Ok { data: JoinedRoom { room: name, members, history } });
    announce(&io).await;
}

/// `room:leave`.
async fn on_leave(io: SocketIo, socket: SocketRef, TryData(name): TryData<String>, ack: AckSender) {
    let name = match name.map_err(|_| invalid()).and_then(|n| room_name(&n)) {
        Ok(name) => name,
        Err(error) => return outgoing::ack(ack, &AckReply::<()>::from(error)),
    };
    socket.leave(key(&name));
    let members = io.within(key(&name)).sockets().len();
    outgoing::ack(ack, &AckReply::Ok { data: RoomInfo { name, members } });
    announce(&io).await;
}

/// `rooms:list`.
async fn on_list(io: SocketIo, ack: AckSender) {
    outgoing::ack(ack, &AckReply::Ok { data: list(&io).await });
}

/// A socket left: its rooms' counts changed.
async fn on_disconnect(io: SocketIo, socket: SocketRef) {
    if !joined(&socket).is_empty() {
        socket.leave_all();
        announce(&io).await;
    }
}

fn invalid() -> AckError {
    AckError { code: AckErrorCode::InvalidArguments, message: "expected a room name (a string)".into() }
}
