//! Chat rooms on `/`: join, leave, list, and member counts pushed live to everyone.
//!
//! A chat room `rust` is the socketioxide room `room:rust` ([`key`]), so chat rooms never
//! mix with the room socket.io gives each socket (its id).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::handler::DisconnectHandler;
use socketioxide::socket::{DisconnectReason, Socket};
use tracing::warn;

use super::admin::hooks::{observed, observed_disconnect};
use super::limits::guarded;
use super::routes::{Route, route};
use super::store::PageOf;
use super::writer::CaughtUp;
use super::{AppState, history, outgoing, presence};
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
pub fn joined<A: Adapter>(socket: &SocketRef<A>) -> Vec<String> {
    chat_rooms(socket)
}

fn chat_rooms<A: Adapter>(socket: &Socket<A>) -> Vec<String> {
    socket.rooms().iter().filter_map(|r| r.strip_prefix(PREFIX).map(str::to_owned)).collect()
}

/// Registers the disconnect handler on a socket that just connected (its events are
/// routed by the namespace: [`route`]).
pub fn register<A: Adapter>(socket: &SocketRef<A>) {
    // observed_disconnect(): the Admin UI's socket_disconnected (src/server/admin/hooks.rs).
    socket.on_disconnect(observed_disconnect(NotingRooms(on_disconnect)));
}

/// The chat rooms a socket was in when it disconnected, noted before its disconnect handler
/// starts. A client that disconnects sends DISCONNECT, then closes its transport at once; on
/// the close socketioxide takes the socket out of every room, at times (a loaded server)
/// before the handler reads them: it then found no rooms and announced no change, and every
/// page kept counting the departed socket (`socketio/rooms.spec.ts`, "to and except").
#[derive(Debug, Clone)]
struct RoomsAtDisconnect(Vec<String>);

/// Runs `H` as the disconnect handler, after noting [`RoomsAtDisconnect`] synchronously,
/// while socketioxide calls it.
struct NotingRooms<H>(H);

impl<A, T, H> DisconnectHandler<A, T> for NotingRooms<H>
where
    A: Adapter,
    T: Send + Sync + 'static,
    H: DisconnectHandler<A, T>,
{
    fn call_with_defer(&self, socket: Arc<Socket<A>>, reason: DisconnectReason, defer: fn(Arc<Socket<A>>)) {
        socket.extensions.insert(RoomsAtDisconnect(chat_rooms(&socket)));
        self.0.call_with_defer(socket, reason, defer);
    }
}

/// The room events' handlers (src/server/routes.rs).
pub fn route<A: Adapter>(event: &str) -> Option<Route<A>> {
    // guarded(): the limits (src/server/limits.rs); observed(): the Admin UI's event_received
    // (src/server/admin/hooks.rs).
    let route: Route<A> = match event {
        events::ROOM_JOIN => route!(guarded(observed(on_join))),
        events::ROOM_LEAVE => route!(guarded(observed(on_leave))),
        events::ROOMS_LIST => route!(guarded(observed(on_list))),
        _ => return None,
    };
    Some(route)
}

/// Every chat room with its member count, by name, across every node (with the Redis
/// adapter, `rooms` and `fetch_sockets` ask every node and wait for their answers).
pub async fn list<A: Adapter>(io: &SocketIo<A>) -> Vec<RoomInfo> {
    let rooms = match io.rooms().await {
        Ok(rooms) => rooms,
        Err(e) => {
            // Redis away: this node's rooms rather than none.
            warn!(error = %e, "cannot list the rooms of every node; listing this node's");
            io.local().rooms().await.unwrap_or_default()
        }
    };
    let names: Vec<String> = rooms.iter().filter_map(|room| room.strip_prefix(PREFIX).map(str::to_owned)).collect();
    let mut list = Vec::with_capacity(names.len());
    for name in names {
        let members = members(io, &name).await;
        if members > 0 {
            list.push(RoomInfo { name, members });
        }
    }
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// The members of chat room `name` on every node.
pub async fn members<A: Adapter>(io: &SocketIo<A>, name: &str) -> usize {
    match io.within(key(name)).fetch_sockets().await {
        Ok(sockets) => sockets.len(),
        Err(e) => {
            warn!(error = %e, room = name, "cannot count the room's members on every node; counting this node's");
            io.within(key(name)).sockets().len()
        }
    }
}

/// Tells everyone the rooms and their member counts, now.
pub async fn announce_now<A: Adapter>(io: &SocketIo<A>) {
    if outgoing::chat_namespace(io).is_none() {
        return; // shutting down
    }
    let rooms = list(io).await;
    outgoing::broadcast(io.broadcast(), events::ROOMS_UPDATED, &(rooms,)).await;
}

/// How often at most a node sends everyone the room list.
pub const ANNOUNCE_EVERY: Duration = Duration::from_millis(250);

/// Sends the room list at most once every [`ANNOUNCE_EVERY`]: the first change at once, the
/// changes after it together at the end of the interval, with the counts as they are then.
///
/// Every join, leave and disconnection changes the counts, and each announcement goes to
/// every socket: unthrottled, n sockets joining at once cost n² messages (the soak's 5 000
/// clients took 121 s to connect, and the server's memory rose to 665 MB with the queued
/// lists). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Announcer(Arc<Mutex<Announcing>>);

#[derive(Debug, Default)]
struct Announcing {
    last: Option<Instant>,
    scheduled: bool,
}

impl Announcer {
    /// The room list changed.
    pub async fn announce<A: Adapter>(&self, io: &SocketIo<A>) {
        let wait = {
            let mut announcing = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if announcing.scheduled {
                return; // the pending announcement will carry this change
            }
            match announcing.last.map(|last| last.elapsed()) {
                Some(since) if since < ANNOUNCE_EVERY => {
                    announcing.scheduled = true;
                    Some(ANNOUNCE_EVERY - since)
                }
                _ => {
                    announcing.last = Some(Instant::now());
                    None
                }
            }
        };
        let Some(wait) = wait else { return announce_now(io).await };
        let (announcer, io) = (self.clone(), io.clone());
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            {
                let mut announcing = announcer.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                announcing.scheduled = false;
                announcing.last = Some(Instant::now());
            }
            announce_now(&io).await;
        });
    }
}

/// `room:join`: joins (creating) a room; the ack carries its latest messages.
async fn on_join<A: Adapter>(
    io: SocketIo<A>,
    socket: SocketRef<A>,
    TryData(name): TryData<String>,
    ack: AckSender<A>,
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
    let history = match history::read(&state, PageOf::Room(&name), None, state.config.history_page_size).await {
        Ok(history) => history,
        Err(e) => {
            warn!(error = %e, "room history failed");
            socket.leave(key(&name));
            let reply: AckReply<()> = AckReply::error(AckErrorCode::Unavailable, "the room's history is unavailable");
            return outgoing::ack(ack, &reply);
        }
    };
    let members = members(&io, &name).await;
    outgoing::ack(ack, &AckReply::Ok { data: JoinedRoom { room: name, members, history } });
    rooms_changed(&io, &socket, &state).await;
}

/// `room:leave`.
async fn on_leave<A: Adapter>(
    io: SocketIo<A>,
    socket: SocketRef<A>,
    TryData(name): TryData<String>,
    ack: AckSender<A>,
    State(state): State<AppState>,
) {
    let name = match name.map_err(|_| invalid()).and_then(|n| room_name(&n)) {
        Ok(name) => name,
        Err(error) => return outgoing::ack(ack, &AckReply::<()>::from(error)),
    };
    socket.leave(key(&name));
    let members = members(&io, &name).await;
    outgoing::ack(ack, &AckReply::Ok { data: RoomInfo { name, members } });
    rooms_changed(&io, &socket, &state).await;
}

/// After a join or a leave: the room lists (throttled), and the people list when this
/// socket's rooms show in it.
async fn rooms_changed<A: Adapter>(io: &SocketIo<A>, socket: &SocketRef<A>, state: &AppState) {
    state.announcer.announce(io).await;
    if state.presence.rooms_changed(socket) {
        presence::changed(io, state).await;
    }
}

/// `rooms:list`.
async fn on_list<A: Adapter>(io: SocketIo<A>, socket: SocketRef<A>, ack: AckSender<A>) {
    // Asked on connection: answered once the socket is back in the rooms it came back with,
    // so that it counts in them (as a message sent then waits: src/server/chat.rs).
    CaughtUp::wait_for(&socket).await;
    outgoing::ack(ack, &AckReply::Ok { data: list(&io).await });
}

/// A socket left: its rooms' counts changed, and maybe who is online.
async fn on_disconnect<A: Adapter>(io: SocketIo<A>, socket: SocketRef<A>, State(state): State<AppState>) {
    let announcer = state.announcer.clone();
    let rooms = socket.extensions.get::<RoomsAtDisconnect>().map_or_else(|| joined(&socket), |noted| noted.0);
    presence::disconnected(io.clone(), socket.clone(), State(state)).await;
    if !rooms.is_empty() {
        socket.leave_all();
        announcer.announce(&io).await;
    }
}

fn invalid() -> AckError {
    AckError { code: AckErrorCode::InvalidArguments, message: "expected a room name (a string)".into() }
}
