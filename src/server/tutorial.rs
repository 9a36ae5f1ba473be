//! The tutorial's acknowledgement and catch-all examples, on `/` and `/lab` alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socketioxide::extract::{AckSender, Data, Event, SocketRef};
use tracing::info;

use super::outgoing;
use crate::protocol::events;

/// Whether `request` / `request2` are left unanswered, per socket.
#[derive(Clone, Default)]
struct Withhold(Arc<AtomicBool>);

/// Registers the handlers on a socket that just connected.
pub fn register(socket: &SocketRef) {
    socket.extensions.insert(Withhold::default());
    socket.on(events::REQUEST, on_request);
    socket.on(events::REQUEST2, on_request2);
    socket.on(events::WITHHOLD, on_withhold);
    socket.on(events::RTT, on_rtt);
    socket.on_fallback(on_any_other);
}

fn withheld(socket: &SocketRef) -> bool {
    socket.extensions.get::<Withhold>().is_some_and(|w| w.0.load(Ordering::Relaxed))
}

/// The seed's `request`: logs both arguments and acks `{ status: "ok" }`.
async fn on_request(socket: SocketRef, Data((arg1, arg2)): Data<(Value, Value)>, ack: AckSender) {
    info!(%arg1, %arg2, "request");
    if !withheld(&socket) {
        let _ = ack.send(&json!({ "status": "ok" }));
    }
}

/// The seed's `request2` (the promise flavour on the client).
async fn on_request2(socket: SocketRef, Data((arg1, arg2)): Data<(Value, Value)>, ack: AckSender) {
    info!(%arg1, %arg2, "request2");
    if !withheld(&socket) {
        let _ = ack.send(&json!({ "status": "ok from request 2" }));
    }
}

/// Tells the server to leave `request` and `request2` unanswered, or to answer again.
async fn on_withhold(socket: SocketRef, Data(withhold): Data<bool>, ack: AckSender) {
    if let Some(w) = socket.extensions.get::<Withhold>() {
        w.0.store(withhold, Ordering::Relaxed);
    }
    let _ = ack.send(&json!({ "status": "ok", "data": { "withhold": withhold } }));
}

/// A server-to-client ack: the server asks, the client answers, the server uses the answer.
async fn on_rtt(socket: SocketRef) {
    let token = socket.id.to_string();
    let started = Instant::now();
    let answer = match socket.timeout(Duration::from_secs(5)).emit_with_ack::<_, String>(events::RTT_PROBE, &token) {
        Ok(stream) => stream.await.ok(),
        Err(_) => None,
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let measured = json!({ "ms": ms, "echoed": answer.as_deref() == Some(token.as_str()) });
    let _ = outgoing::emit(&socket, events::RTT_MEASURED, &measured).await;
}

/// Every event without a handler (the seed's `catch-all-listeners` among them): logged,
/// and acked `{ status: "ok", data: { event } }` when the sender asked for an ack.
async fn on_any_other(socket: SocketRef, Event(event): Event, ack: AckSender) {
    info!(sid = %socket.id, %event, "event without a handler");
    let _ = ack.send(&json!({ "status": "ok", "data": { "event": event.to_string() } }));
}
