//! Who is online, overall and per room, pushed to everyone as [`events::PRESENCE`].
//!
//! Kept in memory, per user: each of their sockets with its chat rooms. A user counts once
//! however many tabs they have open, and when their last socket goes they stay listed for
//! a grace period (`presence-grace-ms`): a reload is not a departure. Anonymous sockets
//! (the tutorial's clients, the benchmark's) are not people and cost nothing here.
//!
//! Across several nodes, each node publishes its own users to the others and shows the
//! union ([`presence_nodes`](super::presence_nodes)).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State};
use socketioxide::socket::Sid;

use super::presence_nodes::Nodes;
use super::{AppState, outgoing, rooms, users};
use crate::protocol::{OnlineUser, Presence, UserInfo, events};

/// Who is online; cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
    grace: Duration,
    /// The other nodes' users, with Redis.
    nodes: Option<Arc<Nodes>>,
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<String, Entry>,
    /// Numbers departures, so an expiry applies only to the departure it was started for.
    departures: u64,
}

#[derive(Debug)]
struct Entry {
    user: UserInfo,
    /// Each socket of the user, with its chat rooms.
    sockets: HashMap<Sid, BTreeSet<String>>,
    /// Gone, but still shown until this departure's grace period ends; the rooms they
    /// were in.
    leaving: Option<(u64, BTreeSet<String>)>,
}

impl Registry {
    /// An empty registry whose users stay listed `grace` after their last socket.
    pub fn new(grace: Duration) -> Self {
        Self { inner: Arc::default(), grace, nodes: None }
    }

    /// The same registry, also showing the users of the other nodes `nodes` hears.
    pub fn with_nodes(self, nodes: Arc<Nodes>) -> Self {
        Self { nodes: Some(nodes), ..self }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent data (plain inserts).
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A socket of a user connected (or an anonymous one chose a nickname).
    pub fn arrived<A: Adapter>(&self, socket: &SocketRef<A>) {
        let Some(user) = users::current(socket) else { return };
        let rooms: BTreeSet<String> = rooms::joined(socket).into_iter().collect();
        let mut inner = self.lock();
        let entry = inner.users.entry(user.user_id.clone()).or_insert_with(|| Entry {
            user: user.clone(),
            sockets: HashMap::new(),
            leaving: None,
        });
        entry.user = user;
        entry.leaving = None;
        entry.sockets.insert(socket.id, rooms);
    }

    /// A socket joined or left a chat room. Whether it belongs to a user (who is then
    /// shown in another room).
    pub fn rooms_changed<A: Adapter>(&self, socket: &SocketRef<A>) -> bool {
        let Some(user) = users::current(socket) else { return false };
        let rooms: BTreeSet<String> = rooms::joined(socket).into_iter().collect();
        let mut inner = self.lock();
        match inner.users.get_mut(&user.user_id).and_then(|e| e.sockets.get_mut(&socket.id)) {
            Some(known) => {
                *known = rooms;
                true
            }
            None => false,
        }
    }

    /// A user has a new nickname.
    pub fn renamed(&self, user: &UserInfo) {
        if let Some(entry) = self.lock().users.get_mut(&user.user_id) {
            entry.user = user.clone();
        }
    }

    /// A socket went. When it was its user's last, the departure's number: pass it to
    /// [`Registry::expire`] once the grace period is over.
    fn departed(&self, sid: Sid, user_id: &str) -> Option<u64> {
        let mut inner = self.lock();
        inner.departures += 1;
        let number = inner.departures;
        let entry = inner.users.get_mut(user_id)?;
        let rooms = entry.sockets.remove(&sid)?;
        if !entry.sockets.is_empty() {
            return None;
        }
        entry.leaving = Some((number, rooms));
        Some(number)
    }

    /// Ends departure `number` of `user_id`, unless they came back since. Whether they are
    /// now offline.
    fn expire(&self, user_id: &str, number: u64) -> bool {
        let mut inner = self.lock();
        let gone = inner
            .users
            .get(user_id)
            .is_some_and(|e| e.sockets.is_empty() && e.leaving.as_ref().is_some_and(|(n, _)| *n == number));
        if gone {
            inner.users.remove(user_id);
        }
        gone
    }

    /// Everyone online through this node.
    pub fn local_users(&self) -> Vec<OnlineUser> {
        let inner = self.lock();
        inner
            .users
            .values()
            .map(|entry| {
                let rooms: BTreeSet<&String> = match &entry.leaving {
                    Some((_, rooms)) if entry.sockets.is_empty() => rooms.iter().collect(),
                    _ => entry.sockets.values().flatten().collect(),
                };
                OnlineUser { user: entry.user.clone(), rooms: rooms.into_iter().cloned().collect() }
            })
            .collect()
    }

    /// Everyone online, on every node (a user counts once, in every room any of their
    /// sockets is in), sorted by nickname then id.
    pub fn snapshot(&self) -> Presence {
        let remote = self.nodes.as_ref().map(|nodes| nodes.remote_users()).unwrap_or_default();
        Presence { users: merge(self.local_users().into_iter().chain(remote)) }
    }
}

/// One entry per user, their rooms joined, sorted by nickname then id. The first entry of
/// a user names them (this node's, when they are here too).
fn merge(users: impl IntoIterator<Item = OnlineUser>) -> Vec<OnlineUser> {
    let mut by_id: HashMap<String, (UserInfo, BTreeSet<String>)> = HashMap::new();
    for OnlineUser { user, rooms } in users {
        by_id.entry(user.user_id.clone()).or_insert_with(|| (user, BTreeSet::new())).1.extend(rooms);
    }
    let mut users: Vec<OnlineUser> =
        by_id.into_values().map(|(user, rooms)| OnlineUser { user, rooms: rooms.into_iter().collect() }).collect();
    users.sort_by(|a, b| (&a.user.nickname, &a.user.user_id).cmp(&(&b.user.nickname, &b.user.user_id)));
    users
}

/// Shows this node's sockets who is online now (every node shows its own).
pub async fn show<A: Adapter>(io: &SocketIo<A>, registry: &Registry) {
    if let Some(chat) = outgoing::chat_namespace(io) {
        outgoing::broadcast(chat.local(), events::PRESENCE, &registry.snapshot()).await;
    }
}

/// Tells everyone who is online now: this node's sockets, and the other nodes.
pub async fn changed<A: Adapter>(io: &SocketIo<A>, state: &AppState) {
    // This node's sockets first: a publish waits up to 2 s while Redis is away.
    show(io, &state.presence).await;
    if let Some(nodes) = &state.presence.nodes {
        nodes.publish(state.presence.local_users()).await;
    }
}

/// A socket has gone live: a user's socket is announced to everyone; any socket learns who
/// is online.
pub async fn connected<A: Adapter>(io: &SocketIo<A>, socket: &SocketRef<A>, state: &AppState) {
    if users::current(socket).is_some() {
        state.presence.arrived(socket);
        changed(io, state).await;
    } else {
        outgoing::emit(socket, events::PRESENCE, &state.presence.snapshot()).await.ok();
    }
}

/// A socket went: when it was its user's last, they are announced offline after the grace
/// period, unless a socket of theirs comes back first.
pub async fn disconnected<A: Adapter>(io: SocketIo<A>, socket: SocketRef<A>, State(state): State<AppState>) {
    let Some(user) = users::current(&socket) else { return };
    let Some(number) = state.presence.departed(socket.id, &user.user_id) else {
        // Another tab is still there, maybe in other rooms.
        return changed(&io, &state).await;
    };
    let grace = state.presence.grace;
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        if state.presence.expire(&user.user_id, number) {
            changed(&io, &state).await;
        }
    });
}
