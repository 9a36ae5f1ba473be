//! `socket_connected`, `socket_updated`, `socket_disconnected`, `room_joined`, `room_left`
//! and the connection counts.
//!
//! The Node.js package hears these from socket.io (`connection`, the adapter's `join-room`
//! and `leave-room`, Engine.IO's `connection` and `close`). socketioxide emits none of them:
//! `Socket::join` writes straight into the local adapter. So while an admin watches, the
//! live state is looked at every [`EVERY`] and compared with the last look; the
//! differences are told in order (connections, then room changes, then departures).
//! Disconnections also arrive at once, with their reason, through
//! [`super::hooks`]; a socket that comes and goes between two looks is not told.
//! Looking costs one pass over the sockets; it runs only while an admin is connected.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use socketioxide::adapter::Adapter;
use tracing::debug;

use super::snapshot;
use super::{Admin, iso_time};
use crate::protocol::admin::{AggregatedKind, SerializedSocket, SocketUpdate};
use crate::protocol::events::admin as events;

/// How often the live state is looked at.
pub const EVERY: Duration = Duration::from_millis(200);

/// The reason given for a socket found gone without its namespace saying why.
const GONE: &str = "transport close";

/// What the admins were last told.
#[derive(Default)]
pub struct Watch(Mutex<Option<Told>>);

/// A socket as last told: its rooms, transport and connection.
#[derive(Clone)]
struct Known {
    rooms: Vec<String>,
    transport: &'static str,
    client_id: String,
}

#[derive(Default)]
struct Told {
    /// By namespace, then socket id.
    sockets: HashMap<(String, String), Known>,
    /// Connections (client ids) with at least one socket.
    clients: HashSet<String>,
}

/// Looks every [`EVERY`] while an admin watches.
pub async fn run<A: Adapter>(admin: Admin<A>) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if admin.watched() {
            admin.watch().look(&admin, false);
        } else {
            // Nobody watches: the next admin starts from a fresh look.
            admin.watch().forget();
        }
    }
}

impl Watch {
    /// Compares the live state with what was told and tells the differences. With
    /// `everything`, returns every live socket serialized (for `all_sockets`).
    pub fn look<A: Adapter>(&self, admin: &Admin<A>, everything: bool) -> Vec<SerializedSocket> {
        let Some(io) = admin.io() else { return Vec::new() };
        let mut told = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let first_look = told.is_none();
        let tell = admin.development() && !first_look;
        let previous = told.take().unwrap_or_default();
        let mut next = Told::default();
        let now = || iso_time(SystemTime::now());
        let mut all = Vec::new();
        let mut room_changes = Vec::new();
        for seen in snapshot::all(io) {
            let key = (seen.nsp.clone(), seen.socket.id.to_string());
            if !seen.socket.connected() {
                // Disconnecting: its disconnect hook tells it (with the reason), not this look.
                if let Some(known) = previous.sockets.get(&key) {
                    next.sockets.insert(key, known.clone());
                }
                continue;
            }
            let rooms: Vec<String> = seen.rooms.iter().cloned().collect();
            match previous.sockets.get(&key) {
                None if tell => admin.tell(events::SOCKET_CONNECTED, &(snapshot::serialize(&seen), now())),
                Some(known) if tell => {
                    if known.transport != seen.transport {
                        let update =
                            SocketUpdate { id: key.1.clone(), nsp: key.0.clone(), transport: seen.transport.into() };
                        admin.tell(events::SOCKET_UPDATED, &(update,));
                    }
                    for room in rooms.iter().filter(|r| !known.rooms.contains(r)) {
                        room_changes.push((events::ROOM_JOINED, key.clone(), room.clone()));
                    }
                    for room in known.rooms.iter().filter(|r| !rooms.contains(r)) {
                        room_changes.push((events::ROOM_LEFT, key.clone(), room.clone()));
                    }
                }
                _ => {}
            }
            if everything {
                all.push(snapshot::serialize(&seen));
            }
            next.clients.insert(seen.client_id.clone());
            next.sockets.insert(key, Known { rooms, transport: seen.transport, client_id: seen.client_id });
        }
        for (event, (nsp, id), room) in room_changes {
            admin.tell(event, &(nsp, room, id, now()));
        }
        if tell {
            for ((nsp, id), known) in &previous.sockets {
                if !next.sockets.contains_key(&(nsp.clone(), id.clone())) {
                    tell_gone(admin, nsp, id, &known.rooms, GONE);
                }
            }
        }
        if !first_look {
            let opened = next.clients.difference(&previous.clients).count() as u64;
            let closed = previous.clients.difference(&next.clients).count() as u64;
            admin.events().push(AggregatedKind::RawConnection, None, opened);
            admin.events().push(AggregatedKind::RawDisconnection, None, closed);
        }
        *told = Some(next);
        all
    }

    /// A socket disconnected, for `reason`: told at once, and forgotten so that the next
    /// look does not tell it again.
    pub fn disconnected<A: Adapter>(&self, admin: &Admin<A>, nsp: &str, id: &str, reason: &str) {
        let mut told = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(told) = told.as_mut() else { return };
        let Some(known) = told.sockets.remove(&(nsp.to_owned(), id.to_owned())) else { return };
        if admin.development() && admin.watched() {
            tell_gone(admin, nsp, id, &known.rooms, reason);
        }
        debug!(nsp, id, reason, client = %known.client_id, "admin told of a disconnection");
    }

    /// Forgets what was told (no admin is watching any more).
    pub fn forget(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// `socket_disconnected`, then `room_left` for each of its rooms, as socket.io's adapter
/// does when a socket leaves (the UI drops empty rooms on `room_left`).
fn tell_gone<A: Adapter>(admin: &Admin<A>, nsp: &str, id: &str, rooms: &[String], reason: &str) {
    let now = iso_time(SystemTime::now());
    admin.tell(events::SOCKET_DISCONNECTED, &(nsp, id, reason, &now));
    for room in rooms {
        admin.tell(events::ROOM_LEFT, &(nsp, room, id, &now));
    }
}
