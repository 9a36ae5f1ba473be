//! The Admin UI's commands: `emit`, `join`, `leave`, `_disconnect`.
//!
//! As in the package (socket.io v4 flavour), each names a namespace and, optionally, a
//! filter: a room, or a socket id (socket.io puts every socket in a room named by its id;
//! socketioxide does not, so an id is matched here). The UI sends them without asking for
//! an ack and the package never answers; an admin that asks gets our envelope
//! (`AckReply<CommandDone>`), and a refused command is logged either way. On a read-only
//! server every command is refused (`read_only`), where the package ignores them.

use std::convert::Infallible;

use serde_value::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::operators::BroadcastOperators;
use tracing::{info, warn};

use super::Admin;
use super::arguments::Arguments;
use super::snapshot;
use crate::protocol::admin::CommandDone;
use crate::protocol::events::admin as events;
use crate::protocol::{AckError, AckErrorCode, AckReply};
use crate::server::{outgoing, rooms};

/// Registers the commands before the admin's CONNECT is answered (a middleware).
pub async fn register(socket: SocketRef) -> Result<(), Infallible> {
    socket.on(events::EMIT, on_emit);
    socket.on(events::JOIN, on_join);
    socket.on(events::LEAVE, on_leave);
    socket.on(events::DISCONNECT, on_disconnect);
    Ok(())
}

/// `emit(nsp, filter?, event, ...args)`.
async fn on_emit(State(admin): State<Admin>, TryData(args): TryData<Arguments>, ack: AckSender) {
    let result = async {
        let (io, args) = allowed(&admin, args, events::EMIT)?;
        let nsp = string(&args, 0, "nsp")?;
        let filter = filter(&args, 1)?;
        let event = string(&args, 2, "event")?;
        let rest = Arguments(args.0[3..].to_vec());
        let (namespace, selected) = select(io, &nsp, filter.as_deref())?;
        let sockets = match (filter, selected) {
            (None, _) => {
                let count = namespace.clone().sockets().len();
                outgoing::broadcast(namespace, &event, &rest).await;
                count
            }
            (Some(_), selected) => {
                for socket in &selected {
                    let _ = outgoing::emit(socket, &event, &rest).await;
                }
                selected.len()
            }
        };
        info!(%nsp, %event, sockets, "admin emit");
        Ok(sockets)
    };
    answer(ack, result.await);
}

/// `join(nsp, room, filter?)`.
async fn on_join(State(admin): State<Admin>, TryData(args): TryData<Arguments>, ack: AckSender) {
    answer(ack, rooms_command(&admin, args, events::JOIN).await);
}

/// `leave(nsp, room, filter?)`.
async fn on_leave(State(admin): State<Admin>, TryData(args): TryData<Arguments>, ack: AckSender) {
    answer(ack, rooms_command(&admin, args, events::LEAVE).await);
}

async fn rooms_command(
    admin: &Admin,
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
    let (_, selected) = select(io, &nsp, filter.as_deref())?;
    for socket in &selected {
        if command == events::JOIN {
            socket.join(room.clone());
        } else {
            socket.leave(room.clone());
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
/// namespace left).
async fn on_disconnect(State(admin): State<Admin>, TryData(args): TryData<Arguments>, ack: AckSender) {
    let result = (|| {
        let (io, args) = allowed(&admin, args, events::DISCONNECT)?;
        let nsp = string(&args, 0, "nsp")?;
        let close = match args.0.get(1) {
            Some(Value::Bool(close)) => *close,
            None | Some(Value::Unit | Value::Option(None)) => false,
            Some(_) => return Err(invalid("close must be a boolean")),
        };
        let filter = filter(&args, 2)?;
        let (_, selected) = select(io, &nsp, filter.as_deref())?;
        let clients: Vec<String> = selected.iter().map(snapshot::client_id).collect();
        let count = selected.len();
        for socket in selected {
            let _ = socket.disconnect();
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
    })();
    answer(ack, result);
}

/// The command's arguments, unless the namespace is read-only or they cannot be read.
fn allowed<'a>(
    admin: &'a Admin,
    args: Result<Arguments, socketioxide::ParserError>,
    command: &str,
) -> Result<(&'a SocketIo, Arguments), AckError> {
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

/// The namespace, and the sockets `filter` selects (all of them without one).
fn select(io: &SocketIo, nsp: &str, filter: Option<&str>) -> Result<(BroadcastOperators, Vec<SocketRef>), AckError> {
    let namespace = io.of(nsp).ok_or_else(|| AckError {
        code: AckErrorCode::UnknownNamespace,
        message: format!("this server has no namespace {nsp}"),
    })?;
    let sockets = match filter {
        None => namespace.clone().sockets(),
        Some(filter) => {
            let mut sockets = namespace.clone().within(filter.to_owned()).sockets();
            if let Ok(sid) = filter.parse::<socketioxide::socket::Sid>()
                && let Some(socket) = namespace.get_socket(sid)
                && !sockets.contains(&socket)
            {
                sockets.push(socket);
            }
            sockets
        }
    };
    Ok((namespace, sockets))
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
fn answer(ack: AckSender, result: Result<usize, AckError>) {
    let reply = match result {
        Ok(sockets) => AckReply::Ok { data: CommandDone { sockets } },
        Err(error) => {
            warn!(code = ?error.code, "admin command refused: {}", error.message);
            AckReply::Error { error }
        }
    };
    outgoing::ack(ack, &reply);
}
