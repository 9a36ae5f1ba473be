//! Who is online across several nodes.
//!
//! Each node knows its own sockets ([`presence::Registry`](super::presence::Registry)). With
//! Redis, each node also publishes its own users on one channel (on every change, and every
//! [`HEARTBEAT`]), keeps the latest list heard from every other node, and shows its sockets
//! the union. A node that dies stops publishing: its users go after [`FORGET_AFTER`]. A node
//! that hears a node for the first time publishes its own list at once, so a new node knows
//! everyone within one round trip rather than one heartbeat.
//!
//! Written by hand on the adapter's Redis connection: socketioxide has no server-to-server
//! messages (socket.io's `serverSideEmit`), and a user's nickname lives in the extensions
//! of their sockets, which `fetch_sockets` does not carry from one node to another.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide_redis::drivers::Driver;
use tracing::warn;

use super::cluster::ClusterDriver;
use super::presence::{self, Registry};
use crate::protocol::OnlineUser;

/// How often a node publishes its users even when nothing changed.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long a silent node's users stay listed: three heartbeats missed.
pub const FORGET_AFTER: Duration = Duration::from_secs(6);

/// What a node publishes: who is online through it.
#[derive(Debug, Serialize, Deserialize)]
struct NodeUsers {
    node: String,
    users: Vec<OnlineUser>,
}

/// This node's link to the others' presence.
pub struct Nodes {
    driver: ClusterDriver,
    channel: String,
    /// This node's random id, to tell its own messages from the others'.
    node: String,
    /// The latest list of every other node, and when it came.
    others: Mutex<HashMap<String, (Vec<OnlineUser>, Instant)>>,
}

impl fmt::Debug for Nodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nodes").field("channel", &self.channel).field("node", &self.node).finish_non_exhaustive()
    }
}

impl Nodes {
    /// Presence shared on the channel `<prefix>#presence` of `driver`'s Redis.
    pub fn new(driver: ClusterDriver, prefix: &str) -> Arc<Self> {
        let mut id = [0u8; 8];
        // Without randomness (never on a server), the process id and clock still differ per node.
        if getrandom::fill(&mut id).is_err() {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
            id = ((nanos as u64) ^ u64::from(std::process::id())).to_le_bytes();
        }
        Arc::new(Self {
            driver,
            channel: format!("{prefix}#presence"),
            node: id.iter().map(|b| format!("{b:02x}")).collect(),
            others: Mutex::default(),
        })
    }

    fn others(&self) -> MutexGuard<'_, HashMap<String, (Vec<OnlineUser>, Instant)>> {
        self.others.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Everyone the other nodes have online.
    pub fn remote_users(&self) -> Vec<OnlineUser> {
        self.others().values().flat_map(|(users, _)| users.iter().cloned()).collect()
    }

    /// Tells the other nodes who is online here. Redis being away, the next heartbeat
    /// tells them.
    pub async fn publish(&self, users: Vec<OnlineUser>) {
        let message = NodeUsers { node: self.node.clone(), users };
        let Ok(bytes) = serde_json::to_vec(&message) else { return };
        if let Err(e) = self.driver.publish(self.channel.clone(), bytes).await {
            warn!(error = %e, "cannot publish this node's presence");
        }
    }

    /// A message from the channel. Whether the union changed, and whether its node is new.
    fn heard(&self, bytes: &[u8]) -> (bool, bool) {
        let Ok(NodeUsers { node, users }) = serde_json::from_slice::<NodeUsers>(bytes) else {
            warn!("unreadable presence message from another node");
            return (false, false);
        };
        if node == self.node {
            return (false, false);
        }
        let mut others = self.others();
        let before = others.insert(node, (users.clone(), Instant::now()));
        let changed = before.as_ref().is_none_or(|(old, _)| *old != users);
        (changed, before.is_none())
    }

    /// Forgets the nodes silent for [`FORGET_AFTER`]. Whether any was.
    fn forget_silent(&self) -> bool {
        let mut others = self.others();
        let before = others.len();
        others.retain(|_, (_, at)| at.elapsed() < FORGET_AFTER);
        others.len() != before
    }

    /// Listens to the other nodes and publishes this one's users every [`HEARTBEAT`], for as
    /// long as the node runs; each change is shown to this node's sockets.
    pub async fn run<A: Adapter>(self: Arc<Self>, io: SocketIo<A>, registry: Registry) {
        let mut messages = match self.driver.subscribe(self.channel.clone(), 256).await {
            Ok(messages) => messages,
            Err(e) => {
                warn!(error = %e, "cannot hear the other nodes' presence: each node shows its own users only");
                return;
            }
        };
        self.publish(registry.local_users()).await;
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                message = messages.next() => {
                    let Some((_, bytes)) = message else { return };
                    let (changed, new_node) = self.heard(&bytes);
                    if new_node {
                        self.publish(registry.local_users()).await;
                    }
                    if changed {
                        presence::show(&io, &registry).await;
                    }
                }
                _ = heartbeat.tick() => {
                    self.publish(registry.local_users()).await;
                    if self.forget_silent() {
                        presence::show(&io, &registry).await;
                    }
                }
            }
        }
    }
}
