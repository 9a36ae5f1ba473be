//! The Socket.IO Admin UI's `/admin` namespace, in Rust.
//!
//! The official Admin UI (npm `@socket.io/admin-ui` 0.5.1) inspects a server through the
//! `/admin` namespace that the package's Node.js half (`dist/index.js`) adds to a socket.io
//! server. No Rust server had it; this module implements the same protocol on socketioxide,
//! so the official UI (served at `/admin-ui/`) works against socket-chat unchanged. The
//! namespace exists only when an admin user is configured (`--admin-username`,
//! `--admin-password-hash`). Event names are in `crate::protocol::events::admin`, payloads
//! in `crate::protocol::admin`.
//!
//! - [`auth`]: login with the user and its bcrypt-hashed password, or a session id.
//! - [`namespace`]: an admin connects: `session`, `config`, `all_sockets`.
//! - [`commands`]: `emit`, `join`, `leave`, `_disconnect` (refused when read-only).
//! - [`snapshot`]: sockets as the UI lists them.
//! - [`watch`]: `socket_connected` / `socket_updated` / `socket_disconnected`,
//!   `room_joined` / `room_left`, from the server's live state.
//! - [`stats`]: `server_stats` every 2 s, with the aggregated events.
//! - [`peers`]: several nodes: admins connected to the other nodes, who are sent this
//!   node's sockets and events too.
//! - [`hooks`]: the few touch points in the rest of the server: events in and out,
//!   disconnections, connection ids.
//! - [`arguments`]: event arguments of any number, binary kept.
//! - [`ui`]: the UI's files at `/admin-ui/`.
//!
//! Everything is generic over socketioxide's [`Adapter`]: with the local adapter the node is
//! alone; with the Redis adapter (`REDIS_URL`) every node runs its own `/admin` namespace, as
//! the package does on each node of a cluster, and an admin connected to any node sees them
//! all. The admins wait in one room ([`WATCHING_ROOM`]); every node tells them what happens
//! through the adapter, which carries it to the admins of every node; the commands act on the
//! sockets of every node (`fetch_sockets`, and each remote socket's own operations).

pub mod arguments;
pub mod auth;
pub mod commands;
pub mod hooks;
pub mod namespace;
pub mod peers;
pub mod snapshot;
pub mod stats;
pub mod ui;
pub mod watch;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use serde::Serialize;
use socketioxide::SocketIo;
use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide_core::adapter::DefinedAdapter;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::{debug, info};

use arguments::Arguments;

use super::config::{AdminMode, AdminUser, ChatConfig};
use crate::protocol::admin::{AdminConfig, Feature};
use crate::protocol::events::admin as events;

/// The room of the admin sockets that watch (those sent `all_sockets`), on every node: what
/// a node tells the admins is broadcast to it, and the adapter carries it to every node.
pub const WATCHING_ROOM: &str = "socket-chat#admins";

/// The admin side of the server, on adapter `A` (the local one alone, Redis between nodes);
/// cheap to clone. Exists only when an admin user is set.
pub struct Admin<A: Adapter = LocalAdapter>(Arc<Inner<A>>);

impl<A: Adapter> Clone for Admin<A> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct Inner<A: Adapter> {
    /// Who may log in.
    user: AdminUser,
    /// No commands, only observation.
    read_only: bool,
    /// Sockets, rooms and events one by one (else only the statistics).
    development: bool,
    /// Reported in `server_stats`.
    server_id: String,
    hostname: String,
    started: Instant,
    sessions: auth::Sessions,
    events: stats::EventBuffer,
    watch: watch::Watch,
    /// Admin sockets connected (and watching) to this node.
    ready: AtomicUsize,
    /// Admins connected to the other nodes, when there are others.
    peers: peers::Peers,
    /// Set once the Socket.IO server exists (it is built with the admin in its state).
    io: OnceLock<SocketIo<A>>,
    /// What is told to the admins, in order (see [`Admin::tell`]); set by [`Admin::install`].
    outbox: OnceLock<mpsc::UnboundedSender<Outgoing<A>>>,
    /// The tasks [`Admin::install`] started, ended by [`Admin::stop`] (each holds the
    /// Socket.IO server, which holds the admin: they would otherwise outlive the server).
    tasks: OnceLock<Vec<AbortHandle>>,
}

/// One thing for the admins, in the order it was told.
enum Outgoing<A: Adapter> {
    /// An event for every watching admin, on every node.
    Tell(String, Arguments),
    /// An admin of this node has been sent `all_sockets`: it watches from now on.
    Watching(SocketRef<A>),
    /// `socket_connected` for each of this node's sockets, to an admin of another node that
    /// has just started watching (it was sent the sockets of its own node only).
    Greet(socketioxide::socket::RemoteSocket<A>, Vec<crate::protocol::admin::SerializedSocket>),
}

impl<A: Adapter> Admin<A> {
    /// The admin side, when `config` has an admin user.
    pub fn from_config(config: &ChatConfig) -> Option<Self> {
        let user = config.admin_user()?;
        let hostname = gethostname::gethostname().to_string_lossy().into_owned();
        // The package's defaults: the host name alone, `host#pid` when the process is one of
        // several (a cluster worker), so that nodes on one host stay apart in the UI.
        let server_id = config.admin_server_id.clone().unwrap_or_else(|| match config.redis_url {
            Some(_) => format!("{hostname}#{}", std::process::id()),
            None => hostname.clone(),
        });
        Some(Self(Arc::new(Inner {
            user,
            read_only: config.admin_read_only,
            development: config.admin_mode == AdminMode::Development,
            server_id,
            hostname,
            started: Instant::now(),
            sessions: auth::Sessions::default(),
            events: stats::EventBuffer::default(),
            watch: watch::Watch::default(),
            ready: AtomicUsize::new(0),
            peers: peers::Peers::default(),
            io: OnceLock::new(),
            outbox: OnceLock::new(),
            tasks: OnceLock::new(),
        })))
    }
}

impl<A: Adapter + DefinedAdapter> Admin<A> {
    /// Adds the `/admin` namespace to `io` and starts the statistics and the watch; with
    /// `clustered`, also the look-out for the admins of the other nodes ([`peers`]). Returns
    /// what the adapter returns from the namespace's start (with Redis: a future that
    /// subscribes, to await before serving), `None` when already installed.
    pub fn install(&self, io: &SocketIo<A>, clustered: bool) -> Option<A::InitRes> {
        if self.0.io.set(io.clone()).is_err() {
            return None;
        }
        let (outbox, queue) = mpsc::unbounded_channel();
        let _ = self.0.outbox.set(outbox);
        let started =
            io.ns(events::NAMESPACE, namespace::on_connect::<A>.with(commands::register::<A>).with(auth::login::<A>));
        let mut tasks = vec![
            tokio::spawn(send_in_order(io.clone(), queue)).abort_handle(),
            tokio::spawn(stats::run(self.clone())).abort_handle(),
            tokio::spawn(watch::run(self.clone())).abort_handle(),
        ];
        if clustered {
            tasks.push(tokio::spawn(peers::run(self.clone())).abort_handle());
        }
        let _ = self.0.tasks.set(tasks);
        info!(
            server_id = %self.0.server_id,
            user = %self.0.user.username,
            read_only = self.0.read_only,
            development = self.0.development,
            "Admin UI namespace {} open (UI at /admin-ui/)",
            events::NAMESPACE
        );
        Some(started)
    }
}

impl<A: Adapter> Admin<A> {
    /// Ends the statistics, the watch and the look-out (the server is stopping).
    pub fn stop(&self) {
        for task in self.0.tasks.get().into_iter().flatten() {
            task.abort();
        }
    }

    /// The login sessions (to share them between nodes).
    pub fn sessions(&self) -> &auth::Sessions {
        &self.0.sessions
    }

    /// What the UI may do, in the package's order.
    pub fn config(&self) -> AdminConfig {
        let mut supported_features = if self.0.read_only {
            Vec::new()
        } else {
            vec![
                Feature::Emit,
                Feature::Join,
                Feature::Leave,
                Feature::Disconnect,
                Feature::Mjoin,
                Feature::Mleave,
                Feature::Mdisconnect,
            ]
        };
        supported_features.push(Feature::AggregatedEvents);
        if self.0.development {
            supported_features.push(Feature::AllEvents);
        }
        AdminConfig { supported_features }
    }

    /// Whether sockets, rooms and events are sent one by one.
    pub fn development(&self) -> bool {
        self.0.development
    }

    /// Whether commands are refused.
    pub fn read_only(&self) -> bool {
        self.0.read_only
    }

    /// The Socket.IO server (set by [`Admin::install`]).
    pub fn io(&self) -> Option<&SocketIo<A>> {
        self.0.io.get()
    }

    /// Whether some admin is watching, on this node or another.
    pub fn watched(&self) -> bool {
        self.0.ready.load(Ordering::Relaxed) > 0 || self.0.peers.watching()
    }

    /// The aggregated events of the next `server_stats`.
    pub fn events(&self) -> &stats::EventBuffer {
        &self.0.events
    }

    /// The sockets and rooms last told to the admins.
    pub fn watch(&self) -> &watch::Watch {
        &self.0.watch
    }

    /// Sends `event` to every watching admin, on every node (the namespace's own emits, not
    /// the chat's: they do not go through `outgoing`, as the Node.js package's do not go
    /// through its `onAnyOutgoing`). Queued, and broadcast one after the other by one task,
    /// so events keep their order whatever the adapter (a Redis publish takes a round trip).
    pub fn tell<T: Serialize + ?Sized>(&self, event: &str, data: &T) {
        let Some(outbox) = self.0.outbox.get() else { return };
        // As socketioxide would put `data` on the wire (a tuple spread into arguments).
        let Some((mut arguments, _)) = Arguments::of_emit(event, data) else {
            debug!(event, "admin event not serializable");
            return;
        };
        arguments.0.remove(0);
        let _ = outbox.send(Outgoing::Tell(event.to_owned(), arguments));
    }

    /// `socket` (an admin of this node, just sent `all_sockets`) is told everything from now
    /// on: after what was told before, which it has seen in `all_sockets`.
    fn start_watching(&self, socket: SocketRef<A>) {
        if let Some(outbox) = self.0.outbox.get() {
            let _ = outbox.send(Outgoing::Watching(socket));
        }
    }

    /// Sends `sockets` (this node's) to `admin` (of another node), after what was told before.
    fn greet(
        &self,
        admin: socketioxide::socket::RemoteSocket<A>,
        sockets: Vec<crate::protocol::admin::SerializedSocket>,
    ) {
        if let Some(outbox) = self.0.outbox.get() {
            let _ = outbox.send(Outgoing::Greet(admin, sockets));
        }
    }
}

/// Sends what is told to the admins, one at a time, in order.
async fn send_in_order<A: Adapter>(io: SocketIo<A>, mut queue: mpsc::UnboundedReceiver<Outgoing<A>>) {
    while let Some(next) = queue.recv().await {
        match next {
            Outgoing::Tell(event, arguments) => {
                let Some(admins) = io.of(events::NAMESPACE) else { continue };
                if let Err(e) = admins.to(WATCHING_ROOM).emit(&event, &arguments).await {
                    debug!(event, error = %e, "admin event dropped");
                }
            }
            Outgoing::Watching(socket) => socket.join(WATCHING_ROOM),
            Outgoing::Greet(admin, sockets) => {
                let now = iso_time(SystemTime::now());
                for socket in sockets {
                    if let Err(e) = admin.emit(events::SOCKET_CONNECTED, &(socket, &now)).await {
                        debug!(admin = %admin.data().id, error = %e, "an admin of another node was not greeted");
                        break;
                    }
                }
            }
        }
    }
}

/// Now as JavaScript's `Date#toISOString` writes it (what a `Date` argument becomes).
pub fn iso_time(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// `time` in ms since the Unix epoch.
pub fn epoch_ms(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
