//! The Admin UI's commands: `emit`, `join`, `leave`, `_disconnect`.
//!
//! As in the package (socket.io v4 flavour), each names a namespace and, optionally, a
//! filter: a room, or a socket id (socket.io puts every socket in a room named by its id;
//! socketioxide does not, so an id is matched here). The UI sends them without asking for
//! an ack and the package never answers; an admin that asks gets our envelope
//! (`AckReply<CommandDone>`), and a refused command is logged either way. On a read-only
//! server every command is refused (`read_only`), where the package ignores them.
//!
//! With several nodes the sockets are found on every node (`fetch_sockets`, through the
//! adapter) and each is acted on where it lives, as the package's `io.of(nsp).in(filter)`
//! operations do through socket.io's cluster adapters.

use std::convert::Infallible;

use serde_value::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::{RemoteSocket, Sid};
use tracing::{info, warn};

use super::Admin;
use super::arguments::Arguments;
use super::snapshot;
use crate::protocol::admin::CommandDone;
use crate::protocol::events::admin as events;
use crate::protocol::{AckError, AckErrorCode, AckReply};
use crate::server::{outgoing, rooms};

/// Registers the commands before the admin's CONNECT is answered (a middleware).
pub async fn register<A: Adapter>(socket: SocketRef<A>) -> Result<(), Infallible> {
    socket.on(events::EMIT, on_emit::<A>);
    socket.on(events::JOIN, on_join::<A>);
    socket.on(events::LEAVE, on_leave::<A>);
    socket.on(events::DISCONNECT, on_disconnect::<A>);
    Ok(())
}

/// A socket a command acts on, on any node.
enum Target<A: Adapter> {
    /// Of this node: acted on directly, so that what it is sent goes through `outgoing` (and
    /// the Admin UI's hooks), and `close` can end its connection.
    Here(SocketRef<A>),
    /// Of another node: acted on through the adapter, by that node.
    There(RemoteSocket<A>),
}

/// `emit(nsp, filter?, event, ...args)`.
async fn on_emit<A: Adapter>(State(admin): State<Admin<A>>, TryData(args): TryData<Arguments>, ack: AckSender<A>) {
    let result = async {
        let (io, args) = allowed(&admin, args, events::EMIT)?;
        let nsp = string(&args, 0, "nsp")?;
        let filter = filter(&args, 1)?;
        let event = string(&args, 2, "event")?;
        let rest = Arguments(args.0[3..].to_vec());
        let (namespace, selected) = select(io, &nsp, filter.as_deref()).await?;
        let sockets = selected.len();
        if filter.is_none() {
            // The whole namespace: one broadcast, which the adapter carries to every node.
            outgoing::broadcast(namespace, &event, &rest).await;
        } else {
            for target in selected {
                match target {
                    Target::Here(socket) => {
                        let _ = outgoing::emit(&socket, &event, &rest).await;
                    }
                    Target::There(socket) => {
                        if let Err(e) = socket.emit(&event, &rest).await {
                            warn!(sid = %socket.data().id, error = %e, "admin emit to another node failed");
                        }
                    }
                }
            }
        }
        info!(%nsp, %event, sockets, "admin emit");
        Ok(sockets)
    };
    answer(ack, result.await);
}

/// `join(nsp, room, filter?)`.
async fn on_join<A: Adapter>(State(admin): State<Admin<A>>, TryData(args): TryData<Arguments>, ack: AckSender<A>) {
    answer(ack, rooms_command(&admin, args, events::JOIN).await);
}

/// `leave(nsp, room, filter?)`.
async fn on_leave<A: Adapter>(State(admin): State<Admin<A>>, TryData(args): TryData<Arguments>, ack: AckSender<A>) {
    answer(ack, rooms_command(&admin, args, events::LEAVE).await);
}

async fn rooms_command<A: Adapter>(
    admin: &Admin<A>,
    args: Result<Arguments, socketioxide::ParserError>,
    command: &str,
) -> Result<usize, AckError> {
    let (io, args) = allowed(admin, args, command)?;
    let nsp = string(&args, 0, "nsp")?;
    let room = string(&args, 1, "room")?;
    if room.is_empty() {
        return Err(invalid("the room name is empty"));
    }
    let filter = filter(&args, 2)?;
    let (_, selected) = select(io, &nsp, filter.as_deref()).await?;
    let join = command == events::JOIN;
    for target in &selected {
        match target {
            Target::Here(socket) if join => socket.join(room.clone()),
            Target::Here(socket) => socket.leave(room.clone()),
            Target::There(socket) => {
                let done = if join { socket.join(room.clone()).await } else { socket.leave(room.clone()).await };
                if let Err(e) = done {
                    warn!(sid = %socket.data().id, error = %e, "admin {command} on another node failed");
                }
            }
        }
    }
    info!(%nsp, %room, filter = filter.as_deref().unwrap_or("*"), sockets = selected.len(), "admin {command}");
    if nsp == "/" && !selected.is_empty() {
        // The chat's member counts changed: its pages are told, as on any join or leave.
        rooms::announce_now(io).await;
    }
    Ok(selected.len())
}

/// `_disconnect(nsp, close, filter?)`: `close` ends each matching socket's whole connection
/// (socketioxide cannot close a connection directly: every socket of the connection is
/// disconnected, and the client then closes it, as socket.io-client does when it has no
/// namespace left). A socket of another node is disconnected from its namespace only: its
/// connection's other sockets are not known here.
async fn on_disconnect<A: Adapter>(
    State(admin): State<Admin<A>>,
    TryData(args): TryData<Arguments>,
    ack: AckSender<A>,
) {
    let result = async {
        let (io, args) = allowed(&admin, args, events::DISCONNECT)?;
        let nsp = string(&args, 0, "nsp")?;
        let close = match args.0.get(1) {
            Some(Value::Bool(close)) => *close,
            None | Some(Value::Unit | Value::Option(None)) => false,
            Some(_) => return Err(invalid("close must be a boolean")),
        };
        let filter = filter(&args, 2)?;
        let (_, selected) = select(io, &nsp, filter.as_deref()).await?;
        let count = selected.len();
        let mut clients = Vec::new();
        for target in selected {
            match target {
                Target::Here(socket) => {
                    clients.push(snapshot::client_id(&socket));
                    let _ = socket.disconnect();
                }
                Target::There(socket) => {
                    let sid = socket.data().id;
                    if let Err(e) = socket.disconnect().await {
                        warn!(%sid, error = %e, "admin disconnect on another node failed");
                    }
                }
            }
        }
        if close {
            for seen in snapshot::all(io) {
                if clients.contains(&seen.client_id) {
                    let _ = seen.socket.disconnect();
                }
            }
        }
        info!(%nsp, close, filter = filter.as_deref().unwrap_or("*"), sockets = count, "admin disconnect");
        Ok(count)
    };
    answer(ack, result.await);
}

/// The command's arguments, unless the namespace is read-only or they cannot be read.
fn allowed<'a, A: Adapter>(
    admin: &'a Admin<A>,
    args: Result<Arguments, socketioxide::ParserError>,
    command: &str,
) -> Result<(&'a SocketIo<A>, Arguments), AckError> {
    if admin.read_only() {
        return Err(AckError {
            code: AckErrorCode::ReadOnly,
            message: format!("{command} refused: this server's admin namespace is read-only"),
        });
    }
    let io = admin
        .io()
        .ok_or_else(|| AckError { code: AckErrorCode::Unavailable, message: "the server is not ready".into() })?;
    let args = args.map_err(|e| invalid(&format!("unreadable arguments: {e}")))?;
    Ok((io, args))
}

/// The namespace, and the sockets `filter` selects (all of them without one), on every node.
async fn select<A: Adapter>(
    io: &SocketIo<A>,
    nsp: &str,
    filter: Option<&str>,
) -> Result<(BroadcastOperators<A>, Vec<Target<A>>), AckError> {
    let namespace = io.of(nsp).ok_or_else(|| AckError {
        code: AckErrorCode::UnknownNamespace,
        message: format!("this server has no namespace {nsp}"),
    })?;
    let unavailable = |e: A::Error| AckError {
        code: AckErrorCode::Unavailable,
        message: format!("the sockets of the other nodes could not be listed: {e}"),
    };
    let found = match filter {
        None => namespace.clone().fetch_sockets().await.map_err(unavailable)?,
        Some(filter) => {
            let mut found = namespace.clone().within(filter.to_owned()).fetch_sockets().await.map_err(unavailable)?;
            // A socket id: the room socket.io would have put the socket in, looked up by id.
            if let Ok(sid) = filter.parse::<Sid>()
                && !found.iter().any(|s| s.data().id == sid)
            {
                let all = namespace.clone().fetch_sockets().await.map_err(unavailable)?;
                found.extend(all.into_iter().filter(|s| s.data().id == sid));
            }
            found
        }
    };
    let targets = found
        .into_iter()
        .map(|socket| match namespace.get_socket(socket.data().id) {
            Some(here) => Target::Here(here),
            None => Target::There(socket),
        })
        .collect();
    Ok((namespace, targets))
}

/// Argument `index`, which must be a string.
fn string(args: &Arguments, index: usize, name: &str) -> Result<String, AckError> {
    args.str_at(index).map(str::to_owned).ok_or_else(|| invalid(&format!("{name} must be a string")))
}

/// Argument `index`: a room or socket id, or nothing (absent, `null` or empty, as the
/// package's `if (filter)`).
fn filter(args: &Arguments, index: usize) -> Result<Option<String>, AckError> {
    match args.0.get(index) {
        None | Some(Value::Unit | Value::Option(None)) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid("the filter must be a room name or a socket id")),
    }
}

fn invalid(message: &str) -> AckError {
    AckError { code: AckErrorCode::InvalidArguments, message: message.to_owned() }
}

/// Logs a refusal; acks the outcome when the admin asked for an ack.
fn answer<A: Adapter>(ack: AckSender<A>, result: Result<usize, AckError>) {
    let reply = match result {
        Ok(sockets) => AckReply::Ok { data: CommandDone { sockets } },
        Err(error) => {
            warn!(code = ?error.code, "admin command refused: {}", error.message);
            AckReply::Error { error }
        }
    };
    outgoing::ack(ack, &reply);
}
