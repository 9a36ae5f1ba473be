//! Sockets as the Admin UI lists them: the package's `serialize(socket, nsp)`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::SystemTime;

use axum::extract::ConnectInfo;
use socketioxide::SocketIo;
use socketioxide::TransportType;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use super::hooks::ClientId;
use super::{WATCHING_ROOM, epoch_ms, iso_time};
use crate::protocol::admin::{Handshake, SerializedSocket};

/// When a socket was created (its handshake's `issued`), set as it connects.
#[derive(Clone, Copy)]
pub struct Issued(pub SystemTime);

/// One socket of one namespace, with what the watch compares between two looks.
pub struct Seen<A: Adapter> {
    /// The socket.
    pub socket: SocketRef<A>,
    /// Its namespace.
    pub nsp: String,
    /// Its rooms, its own id included (see [`rooms`]).
    pub rooms: BTreeSet<String>,
    /// `polling` or `websocket`.
    pub transport: &'static str,
    /// Its connection's id.
    pub client_id: String,
}

/// Every socket of every namespace that is still connected.
pub fn all<A: Adapter>(io: &SocketIo<A>) -> Vec<Seen<A>> {
    let mut all = Vec::new();
    for ns in io.nsps() {
        let nsp = ns.ns_path().to_owned();
        for socket in ns.sockets() {
            if socket.connected() {
                all.push(seen(socket, &nsp));
            }
        }
    }
    all
}

/// What the watch keeps of `socket`.
pub fn seen<A: Adapter>(socket: SocketRef<A>, nsp: &str) -> Seen<A> {
    Seen {
        rooms: rooms(&socket),
        transport: transport(&socket),
        client_id: client_id(&socket),
        nsp: nsp.to_owned(),
        socket,
    }
}

/// The socket's rooms. socket.io puts every socket in a room named by its id (the UI calls
/// it private, and its commands target one socket by naming that room); socketioxide does
/// not, so the id is added here, and [`super::commands`] reads a socket id as that room.
/// The room where admins watch ([`WATCHING_ROOM`]) is ours, not the package's: not shown.
pub fn rooms<A: Adapter>(socket: &SocketRef<A>) -> BTreeSet<String> {
    let mut rooms: BTreeSet<String> = socket.rooms().into_iter().map(|r| r.into_owned()).collect();
    if socket.ns() == crate::protocol::events::admin::NAMESPACE {
        rooms.remove(WATCHING_ROOM);
    }
    rooms.insert(socket.id.to_string());
    rooms
}

/// `polling` or `websocket`, as the UI names them.
pub fn transport<A: Adapter>(socket: &SocketRef<A>) -> &'static str {
    match socket.transport_type() {
        TransportType::Polling => "polling",
        TransportType::Websocket => "websocket",
    }
}

/// The id of the socket's connection (tagged on its first request, [`super::hooks::tag_request`]);
/// the socket's own id when it has none.
pub fn client_id<A: Adapter>(socket: &SocketRef<A>) -> String {
    match socket.req_parts().extensions.get::<ClientId>() {
        Some(ClientId(id)) => id.to_string(),
        None => socket.id.to_string().chars().take(12).collect(),
    }
}

/// The socket as the UI lists it.
pub fn serialize<A: Adapter>(seen: &Seen<A>) -> SerializedSocket {
    let socket = &seen.socket;
    let parts = socket.req_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string());
    let address = header("cf-connecting-ip").or_else(|| header("x-forwarded-for")).or(peer).unwrap_or_default();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    let query: BTreeMap<String, String> =
        parts.uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let issued = socket.extensions.get::<Issued>().map_or_else(SystemTime::now, |Issued(t)| t);
    let host = header("host");
    let xdomain = match (header("origin"), &host) {
        (Some(origin), Some(host)) => origin.split("://").nth(1) != Some(host.as_str()),
        _ => false,
    };
    SerializedSocket {
        id: socket.id.to_string(),
        client_id: seen.client_id.clone(),
        transport: seen.transport.to_owned(),
        nsp: seen.nsp.clone(),
        data: serde_json::json!({}),
        handshake: Handshake {
            address,
            headers,
            query,
            issued: epoch_ms(issued),
            secure: parts.uri.scheme_str() == Some("https"),
            time: iso_time(issued),
            url: parts.uri.to_string(),
            xdomain,
        },
        rooms: ordered_rooms(socket, &seen.rooms),
    }
}

/// The socket's own room first, as socket.io lists it, then the others by name.
fn ordered_rooms<A: Adapter>(socket: &SocketRef<A>, rooms: &BTreeSet<String>) -> Vec<String> {
    let own = socket.id.to_string();
    std::iter::once(own.clone()).chain(rooms.iter().filter(|r| **r != own).cloned()).collect()
}
