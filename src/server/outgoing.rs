//! Every event and every ack the server sends goes through here.
//!
//! socketioxide has no `onAnyOutgoing`; funnelling emits through these functions gives the
//! server one place to observe them (they are traced at `debug` level with target
//! `socket_chat::outgoing`), one place for back-pressure, and one place that logs a send
//! that failed instead of dropping the error.

use std::time::Duration;

use serde::Serialize;
use socketioxide::SendError;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::operators::BroadcastOperators;
use socketioxide_core::adapter::errors::SocketError;
use tracing::{debug, warn};

use super::admin;

/// Emits `event` to one socket. When its outgoing buffer is full, waits for room instead of
/// dropping the packet (a replay can be far longer than the buffer); gives up only when the
/// socket is gone.
pub async fn emit<A: Adapter, T: Serialize + ?Sized>(
    socket: &SocketRef<A>,
    event: &str,
    data: &T,
) -> Result<(), SendError> {
    debug!(target: "socket_chat::outgoing", sid = %socket.id, event, "emit");
    admin::hooks::sent(socket, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    loop {
        match socket.emit(event, data) {
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => {
                debug!(sid = %socket.id, event, error = %e, "emit failed: the socket is gone");
                return Err(e);
            }
            Ok(()) => return Ok(()),
        }
    }
}

/// Emits `event` to one socket now, or fails: for a sender that must never wait (the
/// writer), which then tells the socket to come back and catch up.
pub fn try_emit<A: Adapter, T: Serialize + ?Sized>(
    socket: &SocketRef<A>,
    event: &str,
    data: &T,
) -> Result<(), SendError> {
    debug!(target: "socket_chat::outgoing", sid = %socket.id, event, "emit");
    admin::hooks::sent(socket, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    socket.emit(event, data)
}

/// Emits `event` to one socket asking for an ack, and waits for it (at most `timeout`):
/// a server-to-client acknowledgement. `None` when the socket is gone, the answer is late
/// or cannot be read as `R`.
pub async fn ask<A: Adapter, T: Serialize + ?Sized, R: serde::de::DeserializeOwned>(
    socket: &SocketRef<A>,
    event: &str,
    data: &T,
    timeout: Duration,
) -> Option<R> {
    debug!(target: "socket_chat::outgoing", sid = %socket.id, event, "emit with ack");
    admin::hooks::sent(socket, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    match socket.timeout(timeout).emit_with_ack::<_, R>(event, data) {
        Ok(answer) => answer.await.inspect_err(|e| debug!(event, error = %e, "no ack")).ok(),
        Err(e) => {
            debug!(event, error = %e, "emit with ack failed");
            None
        }
    }
}

/// The chat's namespace (`/`), or `None` once the server has closed it (shutting down):
/// socketioxide's `io.to`, `io.local`, `io.rooms`… panic then, and the writer's and
/// presence's tasks may still run for a moment.
pub fn chat_namespace<A: Adapter>(io: &socketioxide::SocketIo<A>) -> Option<BroadcastOperators<A>> {
    io.of("/")
}

/// Emits `event` to the sockets `to` selects (`io.to(room)`, `io.except(room)`, …),
/// logging a failure rather than returning it: a broadcast has no one to report to.
pub async fn broadcast<A: Adapter, T: Serialize + ?Sized>(to: BroadcastOperators<A>, event: &str, data: &T) {
    debug!(target: "socket_chat::outgoing", event, "broadcast");
    admin::hooks::broadcast(&to, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    if let Err(e) = to.emit(event, data).await {
        warn!(event, error = %e, "broadcast failed");
    }
}

/// Emits `event` with the arguments `data` (a tuple) to each socket `to` selects, one by
/// one, never waiting; returns the sockets whose outgoing queue was full (they did not get
/// it). For the writer, which must know exactly who missed a message: socketioxide's
/// broadcast drops it for a full socket and does not say which. The arguments are
/// serialized once ([`Encoded`]), as socketioxide's broadcast does.
pub fn broadcast_each<A: Adapter, T: Serialize + ?Sized>(
    to: BroadcastOperators<A>,
    event: &str,
    data: &T,
) -> Vec<SocketRef<A>> {
    debug!(target: "socket_chat::outgoing", event, "broadcast");
    admin::hooks::broadcast(&to, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    let encoded = match Encoded::tuple(data) {
        Ok(encoded) => encoded,
        Err(e) => {
            warn!(event, error = %e, "broadcast not serializable");
            return Vec::new();
        }
    };
    let mut full = Vec::new();
    for socket in to.sockets() {
        match socket.emit(event, &encoded) {
            Ok(()) => {}
            Err(SendError::Socket(SocketError::InternalChannelFull)) => full.push(socket),
            // Gone: its disconnect handler cleans up.
            Err(e) => debug!(sid = %socket.id, event, error = %e, "emit failed: the socket is gone"),
        }
    }
    full
}

/// The arguments of an emit, serialized to JSON once and written as they are for each
/// socket. Only for JSON arguments (binary ones would not become attachments).
pub struct Encoded(Vec<Box<serde_json::value::RawValue>>);

impl Encoded {
    /// The elements of the tuple `args`, each as JSON text (socketioxide spreads a tuple
    /// into arguments; so does this).
    pub fn tuple<T: Serialize + ?Sized>(args: &T) -> Result<Self, serde_json::Error> {
        serde_json::from_str(&serde_json::to_string(args)?).map(Self)
    }
}

impl Serialize for Encoded {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for argument in &self.0 {
            tuple.serialize_element(argument)?;
        }
        tuple.end()
    }
}

/// Answers an event with `reply`, if its sender asked for an ack (the tutorial's clients
/// do not always). A reply that cannot be sent is logged: the client will see its timeout.
pub fn ack<A: Adapter, T: Serialize + ?Sized>(ack: AckSender<A>, reply: &T) {
    debug!(target: "socket_chat::outgoing", "ack");
    if let Err(e) = ack.send(reply) {
        warn!(error = %e, "ack not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socketioxide_core::parser::Parse;
    use socketioxide_parser_common::CommonParser;

    #[test]
    fn encoded_arguments_go_on_the_wire_as_the_typed_ones() {
        let meta = serde_json::json!({ "sentAt": 1, "room": "a \"quoted\" <room>" });
        let args = ("héllo \u{2028} \"world\"", 42_i64, &meta);
        let typed = CommonParser.encode_value(&args, Some("chat message")).unwrap();
        let encoded = CommonParser.encode_value(&Encoded::tuple(&args).unwrap(), Some("chat message")).unwrap();
        assert_eq!(typed, encoded);
    }
}
