//! Every event the server sends goes through here.
//!
//! socketioxide has no `onAnyOutgoing`; funnelling emits through these two functions gives
//! the server one place to observe them (they are traced at `debug` level with target
//! `socket_chat::outgoing`), and one place for the replay's back-pressure.

use std::time::Duration;

use serde::Serialize;
use socketioxide::SendError;
use socketioxide::extract::SocketRef;
use socketioxide::operators::BroadcastOperators;
use socketioxide_core::adapter::errors::SocketError;
use tracing::{debug, warn};

/// Emits `event` to one socket. When its outgoing buffer is full, waits for room instead of
/// dropping the packet (a replay can be far longer than the buffer); gives up only when the
/// socket is gone.
pub async fn emit<T: Serialize + ?Sized>(socket: &SocketRef, event: &str, data: &T) -> Result<(), SendError> {
    debug!(target: "socket_chat::outgoing", sid = %socket.id, event, "emit");
    loop {
        match socket.emit(event, data) {
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            other => return other,
        }
    }
}

/// Emits `event` to the sockets `to` selects (`io.to(room)`, `io.except(room)`, …),
/// logging a failure rather than returning it: a broadcast has no one to report to.
pub async fn broadcast<T: Serialize + ?Sized>(to: BroadcastOperators, event: &str, data: &T) {
    debug!(target: "socket_chat::outgoing", event, "broadcast");
    if let Err(e) = to.emit(event, data).await {
        warn!(event, error = %e, "broadcast failed");
    }
}
