//! The `/lab` namespace: the tutorial's examples, one handler each
//! ([`events::lab`](crate::protocol::events::lab) documents every event). The
//! acknowledgement and catch-all examples are shared with `/` ([`tutorial`](super::tutorial)).

use bytes::Bytes;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use tracing::debug;

use super::admin::{self, hooks::observed};
use super::limits::guarded;
use super::routes::{self, Route, Routes, route};
use super::{AppState, outgoing, tutorial};
use crate::protocol::events::{self, lab};
use crate::protocol::lab::{LabRoomJoined, Welcome};
use crate::protocol::room::room_name;
use crate::protocol::{AckError, AckErrorCode, AckReply};

/// Runs before the server answers a CONNECT on `/lab` (a middleware), so the handlers are
/// there before the client's first emit.
pub async fn register<A: Adapter>(socket: SocketRef<A>) -> Result<(), std::convert::Infallible> {
    routes::register::<A, LabRoutes>(&socket);
    // The disconnect hook: the Admin UI (src/server/admin/hooks.rs).
    socket.on_disconnect(admin::hooks::on_disconnect);
    Ok(())
}

/// The events of `/lab`: its own and the tutorial's (src/server/routes.rs).
struct LabRoutes;

impl<A: Adapter> Routes<A> for LabRoutes {
    fn route(event: &str) -> Option<Route<A>> {
        // observed(): the Admin UI (src/server/admin/hooks.rs); guarded(): the limits
        // (src/server/limits.rs).
        let route: Route<A> = match event {
            lab::BINARY_ECHO => route!(guarded(observed(on_binary_echo))),
            events::ROOM_JOIN => route!(guarded(observed(on_room_join))),
            lab::ROOM_SHOUT => route!(guarded(observed(on_room_shout))),
            lab::KICK => route!(guarded(observed(on_kick))),
            _ => return tutorial::route(event),
        };
        Some(route)
    }

    fn other() -> Route<A> {
        tutorial::other()
    }
}

/// A socket joined `/lab`: greet it with what it sent (any JSON, or `null`).
pub async fn on_connect<A: Adapter>(socket: SocketRef<A>, TryData(auth): TryData<Value>) {
    let auth = auth.unwrap_or(Value::Null);
    debug!(sid = %socket.id, %auth, "lab connection");
    let _ = outgoing::emit(&socket, lab::WELCOME, &Welcome { id: socket.id.to_string(), auth }).await;
}

/// Binary both ways: the ack carries the bytes reversed, an event the bytes as sent.
async fn on_binary_echo<A: Adapter>(socket: SocketRef<A>, TryData(bytes): TryData<Bytes>, ack: AckSender<A>) {
    let Ok(bytes) = bytes else {
        return outgoing::ack(ack, &AckReply::<()>::error(AckErrorCode::InvalidArguments, "expected bytes"));
    };
    let reversed: Bytes = bytes.iter().rev().copied().collect::<Vec<u8>>().into();
    outgoing::ack(ack, &(reversed,));
    let _ = outgoing::emit(&socket, lab::BINARY_PUSHED, &(bytes,)).await;
}

/// Joins a plain socket.io room (the seed's `socket.join(room)`).
async fn on_room_join<A: Adapter>(
    socket: SocketRef<A>,
    TryData(room): TryData<String>,
    ack: AckSender<A>,
    State(state): State<AppState>,
) {
    let room = match room.map_err(|e| invalid(&e)).and_then(|r| room_name(&r)) {
        Ok(room) => room,
        Err(error) => return outgoing::ack(ack, &AckReply::<()>::from(error)),
    };
    let max = state.config.max_rooms_per_socket;
    if socket.rooms().len() >= max && !socket.rooms().iter().any(|r| *r == room) {
        let error =
            AckError { code: AckErrorCode::TooManyRooms, message: format!("a socket is in at most {max} rooms") };
        return outgoing::ack(ack, &AckReply::<()>::from(error));
    }
    socket.join(room.clone());
    // Every node's members (the Redis adapter asks them all); this node's if that fails.
    let members = match socket.within(room.clone()).fetch_sockets().await {
        Ok(sockets) => sockets.len(),
        Err(_) => socket.within(room.clone()).sockets().len(),
    };
    outgoing::ack(ack, &AckReply::Ok { data: LabRoomJoined { room, members } });
}

/// `io.to(room).emit(...)`: every socket in the room, the sender included if it is in it.
async fn on_room_shout<A: Adapter>(socket: SocketRef<A>, TryData(args): TryData<(String, Value)>) {
    match args {
        Ok((room, text)) => outgoing::broadcast(socket.within(room.clone()), lab::ROOM_SHOUTED, &(room, text)).await,
        Err(e) => debug!(sid = %socket.id, error = %e, "room:shout without (room, text)"),
    }
}

/// A server-initiated disconnect.
async fn on_kick<A: Adapter>(socket: SocketRef<A>) {
    let _ = socket.disconnect();
}

fn invalid(e: &socketioxide::ParserError) -> AckError {
    AckError { code: AckErrorCode::InvalidArguments, message: format!("expected a room name (a string): {e}") }
}
