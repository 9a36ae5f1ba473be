//! Several nodes: the admins connected to the other nodes.
//!
//! With the Redis adapter each node runs its own `/admin` namespace, as the package does on
//! each node of a cluster. What a node tells its admins is broadcast to the room of the
//! watching admins ([`super::WATCHING_ROOM`]), which the adapter carries to every node; but a
//! node must also know that admins elsewhere watch, or it would neither look at its sockets
//! nor count its events (see [`super::watch`] and [`super::hooks`]: nothing is done while
//! nobody watches). socketioxide has no server-to-server messages, so every [`EVERY`] the
//! node asks the adapter who is in that room (`fetch_sockets`, answered by every node).
//!
//! An admin sees, on connecting, `all_sockets` from its own node (the package gathers them
//! from every node with `fetchSockets`, whose remote sockets carry their handshake;
//! socketioxide's carry only their id). So each other node, when it first finds the new
//! admin in the room, sends it its own sockets as `socket_connected`, in order with what it
//! tells: within [`EVERY`], the admin lists every node's sockets.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use socketioxide::adapter::Adapter;
use socketioxide::socket::Sid;
use tracing::{debug, info};

use super::{Admin, WATCHING_ROOM, hooks};
use crate::protocol::events::admin as events;

/// How often a node asks who watches from the other nodes.
pub const EVERY: Duration = Duration::from_secs(1);

/// The admins of the other nodes, as last found.
#[derive(Default)]
pub struct Peers {
    /// Whether some admin of another node watches.
    watching: AtomicBool,
    /// The admins of the other nodes found watching (and sent this node's sockets).
    greeted: Mutex<HashSet<Sid>>,
}

impl Peers {
    /// Whether some admin of another node watches.
    pub fn watching(&self) -> bool {
        self.watching.load(Ordering::Relaxed)
    }
}

/// Looks for the admins of the other nodes every [`EVERY`], for as long as the node runs.
pub async fn run<A: Adapter>(admin: Admin<A>) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        look(&admin).await;
    }
}

/// Asks every node who watches; greets the admins of other nodes found for the first time.
async fn look<A: Adapter>(admin: &Admin<A>) {
    let Some(admins) = admin.io().and_then(|io| io.of(events::NAMESPACE)) else { return };
    let found = match admins.clone().within(WATCHING_ROOM).fetch_sockets().await {
        Ok(found) => found,
        Err(e) => {
            // Redis away: the others' admins are assumed to stay until it is back.
            debug!(error = %e, "cannot ask the other nodes for their admins");
            return;
        }
    };
    let remote: Vec<_> = found.into_iter().filter(|s| admins.get_socket(s.data().id).is_none()).collect();
    let peers = &admin.0.peers;
    let watching = !remote.is_empty();
    if peers.watching.swap(watching, Ordering::Relaxed) != watching {
        hooks::count_watcher(watching);
        info!(admins = remote.len(), "admins of other nodes {}", if watching { "watching" } else { "gone" });
    }
    let new: Vec<_> = {
        let mut greeted = peers.greeted.lock().unwrap_or_else(|e| e.into_inner());
        let new = remote.iter().filter(|s| !greeted.contains(&s.data().id)).cloned().collect();
        *greeted = remote.iter().map(|s| s.data().id).collect();
        new
    };
    if new.is_empty() || !admin.development() {
        return;
    }
    // Under the watch's lock, as for an admin of this node: earlier changes are told first,
    // then the new admin starts from this state.
    let sockets = admin.watch().look(admin, true);
    for remote in new {
        debug!(admin = %remote.data().id, sockets = sockets.len(), "greeting an admin of another node");
        admin.greet(remote, sockets.clone());
    }
}
