//! The `/lab` namespace: the tutorial's examples, one handler each
//! ([`events::lab`](crate::protocol::events::lab) documents every event).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, Data, Event, SocketRef, TryData};
use tracing::{debug, info};

use crate::protocol::events::lab;

/// Whether `request` / `request2` are answered, per socket.
#[derive(Clone, Default)]
struct Withhold(Arc<AtomicBool>);

/// A socket joined `/lab`: greet it with what it sent, register the handlers.
pub async fn on_connect(socket: SocketRef, TryData(auth): TryData<Value>) {
    let auth = auth.unwrap_or(Value::Null);
    debug!(sid = %socket.id, %auth, "lab connection");
    socket.extensions.insert(Withhold::default());
    socket.on(lab::REQUEST, on_request);
    socket.on(lab::REQUEST2, on_request2);
    socket.on(lab::WITHHOLD, on_withhold);
    socket.on(lab::BINARY_ECHO, on_binary_echo);
    socket.on(lab::ROOM_JOIN, on_room_join);
    socket.on(lab::ROOM_SHOUT, on_room_shout);
    socket.on(lab::RTT, on_rtt);
    socket.on(lab::KICK, on_kick);
    socket.on_fallback(on_any_other);
    let _ = socket.emit(lab::WELCOME, &json!({ "id": socket.id.to_string(), "auth": auth }));
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

/// The seed's `request2` (promise flavour on the client).
async fn on_request2(socket: SocketRef, Data((arg1, arg2)): Data<(Value, Value)>, ack: AckSender) {
    info!(%arg1, %arg2, "request2");
    if !withheld(&socket) {
        let _ = ack.send(&json!({ "status": "ok from request 2" }));
    }
}

async fn on_withhold(socket: SocketRef, Data(withhold): Data<bool>, ack: AckSender) {
    if let Some(w) = socket.extensions.get::<Withhold>() {
        w.0.store(withhold, Ordering::Relaxed);
    }
    let _ = ack.send(&json!({ "status": "ok", "data": { "withhold": withhold } }));
}

/// Binary both ways: the ack carries the bytes reversed, an event the bytes as sent.
async fn on_binary_echo(socket: SocketRef, TryData(bytes): TryData<Bytes>, ack: AckSender) {
    let Ok(bytes) = bytes else {
        let _ = ack
            .send(&json!({ "status": "error", "error": { "code": "invalid_arguments", "message": "expected bytes" } }));
        return;
    };
    let reversed: Bytes = bytes.iter().rev().copied().collect::<Vec<u8>>().into();
    let _ = ack.send(&(reversed,));
    let _ = socket.emit(lab::BINARY_PUSHED, &(bytes,));
}

async fn on_room_join(socket: SocketRef, TryData(room): TryData<String>, ack: AckSender) {
    let Ok(room) = room.map(|r| r.trim().to_owned()).map_err(|e| e.to_string()).and_then(|r| {
        if r.is_empty() || r.len() > 64 { Err("a room name has 1 to 64 characters".to_owned()) } else { Ok(r) }
    }) else {
        let _ = ack.send(&json!({ "status": "error", "error": { "code": "invalid_arguments", "message": "a room name has 1 to 64 characters" } }));
        return;
    };
    socket.join(room.clone());
    let members = socket.within(room.clone()).sockets().len();
    let _ = ack.send(&json!({ "status": "ok", "data": { "room": room, "members": members } }));
}

async fn on_room_shout(socket: SocketRef, Data((room, text)): Data<(String, Value)>) {
    let _ = socket.within(room.clone()).emit(lab::ROOM_SHOUTED, &(room, text)).await;
}

/// A server-to-client ack: the server asks, the client answers, the server uses the answer.
async fn on_rtt(socket: SocketRef) {
    let token = socket.id.to_string();
    let started = Instant::now();
    let answer = match socket.timeout(Duration::from_secs(5)).emit_with_ack::<_, String>(lab::RTT_PROBE, &token) {
        Ok(stream) => stream.await.ok(),
        Err(_) => None,
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let _ = socket.emit(lab::RTT_MEASURED, &json!({ "ms": ms, "echoed": answer.as_deref() == Some(token.as_str()) }));
}

/// A server-initiated disconnect.
async fn on_kick(socket: SocketRef) {
    let _ = socket.disconnect();
}

/// Every other event (`catch-all-listeners` among them): logged, and acked with
/// `{ status: "ok", data: { event } }` when the sender asked for an ack.
async fn on_any_other(Event(event): Event, ack: AckSender) {
    info!(%event, "lab event without a handler");
    let _ = ack.send(&json!({ "status": "ok", "data": { "event": event.to_string() } }));
}
