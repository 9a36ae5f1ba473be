//! Where the rest of the server tells the Admin UI what happens: the touch points.
//!
//! socketioxide has no server-side `onAny`, `onAnyOutgoing`, adapter `join-room` events or
//! Engine.IO connection events, which the Node.js package listens to. So:
//!
//! - every namespace's connect handler gets [`attach`] as a middleware (`app.rs`): the
//!   socket learns which admin watches it, and when it was created;
//! - handlers are registered wrapped in [`observed`] (events received) and the disconnect
//!   handler in [`observed_disconnect`] (or [`on_disconnect`] when a namespace has none);
//! - `outgoing.rs`, which every emit of ours goes through, calls [`sent`] and [`broadcast`];
//! - [`tag_request`], an HTTP middleware, gives each Engine.IO connection an id (the UI
//!   groups sockets by connection);
//! - rooms and connections are compared between looks by [`super::watch`].
//!
//! Each hook first reads one process-wide counter of watching admins: with no admin
//! connected (or none configured) a hook costs one atomic load.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use axum::body::Body;
use axum::http::Request;
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State};
use socketioxide::handler::{DisconnectHandler, MessageHandler};
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::{DisconnectReason, Socket};
use socketioxide_core::Value;

use super::Admin;
use super::arguments::{Arguments, packet_size};
use super::snapshot::Issued;
use crate::protocol::admin::AggregatedKind;
use crate::protocol::events::admin as events;

/// Admin sockets watching, across every server of the process (and 1 for each server whose
/// admins on other nodes watch): the hooks' fast exit.
static WATCHING: AtomicUsize = AtomicUsize::new(0);

/// Whether any admin is watching.
pub fn watching() -> bool {
    WATCHING.load(Ordering::Relaxed) > 0
}

/// An admin started (`true`) or stopped watching.
pub(super) fn count_watcher(started: bool) {
    if started {
        WATCHING.fetch_add(1, Ordering::Relaxed);
    } else {
        WATCHING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The admin, in the Socket.IO server's state (absent when no admin user is configured).
pub struct Hooks<A: Adapter>(pub Option<Admin<A>>);

impl<A: Adapter> Clone for Hooks<A> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// On a socket: the admin that watches it.
struct Watched<A: Adapter>(Admin<A>);

impl<A: Adapter> Clone for Watched<A> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// A connect middleware for every namespace but `/admin`: the socket learns its admin and
/// when it was created.
pub async fn attach<A: Adapter>(socket: SocketRef<A>, State(Hooks(admin)): State<Hooks<A>>) -> Result<(), Infallible> {
    if let Some(admin) = admin {
        socket.extensions.insert(Issued(SystemTime::now()));
        socket.extensions.insert(Watched(admin));
    }
    Ok(())
}

fn admin_of<A: Adapter>(socket: &Socket<A>) -> Option<Admin<A>> {
    if !watching() {
        return None;
    }
    // The process may run several servers (the tests do): this one's admins must watch.
    socket.extensions.get::<Watched<A>>().map(|Watched(admin)| admin).filter(Admin::watched)
}

/// A message handler that tells the admins about each event before handling it.
pub fn observed<H>(handler: H) -> Observed<H> {
    Observed(handler)
}

/// See [`observed`].
#[derive(Clone)]
pub struct Observed<H>(H);

impl<A, T, H> MessageHandler<A, T> for Observed<H>
where
    A: Adapter,
    T: Send + Sync + 'static,
    H: MessageHandler<A, T>,
{
    fn call(&self, socket: Arc<Socket<A>>, value: Value, ack_id: Option<i64>) {
        if let Some(admin) = admin_of(&socket) {
            received(&admin, &socket, &value);
        }
        self.0.call(socket, value, ack_id);
    }
}

/// `event_received` and the incoming counts.
fn received<A: Adapter>(admin: &Admin<A>, socket: &Socket<A>, value: &Value) {
    admin.events().push(AggregatedKind::PacketsIn, None, 1);
    admin.events().push(AggregatedKind::BytesIn, None, packet_size(value) as u64);
    if admin.development()
        && let Some(arguments) = Arguments::of_packet(value)
    {
        let now = super::iso_time(SystemTime::now());
        admin.tell(events::EVENT_RECEIVED, &(socket.ns(), socket.id.to_string(), &arguments.0, now));
    }
}

/// A disconnect handler that tells the admins (with the reason) before running.
pub fn observed_disconnect<H>(handler: H) -> ObservedDisconnect<H> {
    ObservedDisconnect(handler)
}

/// See [`observed_disconnect`].
pub struct ObservedDisconnect<H>(H);

impl<A, T, H> DisconnectHandler<A, T> for ObservedDisconnect<H>
where
    A: Adapter,
    T: Send + Sync + 'static,
    H: DisconnectHandler<A, T>,
{
    fn call_with_defer(&self, socket: Arc<Socket<A>>, reason: DisconnectReason, defer: fn(Arc<Socket<A>>)) {
        disconnected(&socket, reason);
        self.0.call_with_defer(socket, reason, defer);
    }
}

/// The disconnect handler of a namespace that has none of its own.
pub async fn on_disconnect<A: Adapter>(socket: SocketRef<A>, reason: DisconnectReason) {
    disconnected(&socket, reason);
}

fn disconnected<A: Adapter>(socket: &Socket<A>, reason: DisconnectReason) {
    // Told even with no admin watching: the watch forgets the socket either way.
    if let Some(Watched(admin)) = socket.extensions.get::<Watched<A>>() {
        admin.watch().disconnected(&admin, socket.ns(), &socket.id.to_string(), reason_text(reason));
    }
}

/// The reason as socket.io words it (the UI shows it in its event list).
pub fn reason_text(reason: DisconnectReason) -> &'static str {
    match reason {
        DisconnectReason::TransportClose => "transport close",
        DisconnectReason::TransportError | DisconnectReason::MultipleHttpPollingError => "transport error",
        DisconnectReason::PacketParsingError => "parse error",
        DisconnectReason::HeartbeatTimeout => "ping timeout",
        DisconnectReason::ClientNSDisconnect => "client namespace disconnect",
        DisconnectReason::ServerNSDisconnect => "server namespace disconnect",
        DisconnectReason::ClosingServer => "server shutting down",
    }
}

/// `outgoing::emit`: `event_sent` and the outgoing counts for one socket.
pub fn sent<A: Adapter, T: Serialize + ?Sized>(socket: &SocketRef<A>, event: &str, data: &T) {
    let Some(admin) = admin_of(socket) else { return };
    if let Some((arguments, size)) = Arguments::of_emit(event, data) {
        tell_sent(&admin, socket, &arguments, size);
    }
}

/// `outgoing::broadcast`: as [`sent`], for each socket `to` selects (socket.io calls
/// `onAnyOutgoing` for each recipient of a broadcast too).
pub fn broadcast<A: Adapter, T: Serialize + ?Sized>(to: &BroadcastOperators<A>, event: &str, data: &T) {
    if !watching() {
        return;
    }
    let recipients = to.clone().sockets();
    let Some(Watched(admin)) = recipients.first().and_then(|s| s.extensions.get::<Watched<A>>()) else { return };
    if !admin.watched() {
        return;
    }
    let Some((arguments, size)) = Arguments::of_emit(event, data) else { return };
    for socket in &recipients {
        tell_sent(&admin, socket, &arguments, size);
    }
}

fn tell_sent<A: Adapter>(admin: &Admin<A>, socket: &Socket<A>, arguments: &Arguments, size: usize) {
    admin.events().push(AggregatedKind::PacketsOut, None, 1);
    admin.events().push(AggregatedKind::BytesOut, None, size as u64);
    if admin.development() {
        let now = super::iso_time(SystemTime::now());
        admin.tell(events::EVENT_SENT, &(socket.ns(), socket.id.to_string(), &arguments.0, now));
    }
}

/// The id of an Engine.IO connection, shared by its sockets (the package shows the first 12
/// characters of the Engine.IO id; socketioxide does not expose that id).
#[derive(Clone, Debug)]
pub struct ClientId(pub Arc<str>);

/// An HTTP middleware on `/socket.io/` requests (added only when an admin is configured):
/// each request carries a fresh [`ClientId`]. engineioxide keeps the first request of a
/// connection for the connection's whole life, so all its sockets see the id of that one.
pub async fn tag_request(mut request: Request<Body>) -> Request<Body> {
    if request.uri().path().starts_with("/socket.io") {
        let id = format!("{:012x}", getrandom::u64().unwrap_or_default() & 0xffff_ffff_ffff);
        request.extensions_mut().insert(ClientId(id.into()));
    }
    request
}
