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
//! - [`hooks`]: the few touch points in the rest of the server: events in and out,
//!   disconnections, connection ids.
//! - [`arguments`]: event arguments of any number, binary kept.
//! - [`ui`]: the UI's files at `/admin-ui/`.

pub mod arguments;
pub mod auth;
pub mod commands;
pub mod hooks;
pub mod namespace;
pub mod snapshot;
pub mod stats;
pub mod ui;
pub mod watch;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use serde::Serialize;
use socketioxide::SocketIo;
use socketioxide::handler::ConnectHandler;
use tracing::{debug, info};

use super::config::{AdminMode, AdminUser, ChatConfig};
use crate::protocol::admin::{AdminConfig, Feature};
use crate::protocol::events::admin as events;

/// The admin side of the server; cheap to clone. Exists only when an admin user is set.
#[derive(Clone)]
pub struct Admin(Arc<Inner>);

struct Inner {
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
    /// Admin sockets connected (and watching).
    ready: AtomicUsize,
    /// Set once the Socket.IO server exists (it is built with the admin in its state).
    io: OnceLock<SocketIo>,
}

impl Admin {
    /// The admin side, when `config` has an admin user.
    pub fn from_config(config: &ChatConfig) -> Option<Self> {
        let user = config.admin_user()?;
        let hostname = gethostname::gethostname().to_string_lossy().into_owned();
        Some(Self(Arc::new(Inner {
            user,
            read_only: config.admin_read_only,
            development: config.admin_mode == AdminMode::Development,
            // The package's default: the host name.
            server_id: config.admin_server_id.clone().unwrap_or_else(|| hostname.clone()),
            hostname,
            started: Instant::now(),
            sessions: auth::Sessions::default(),
            events: stats::EventBuffer::default(),
            watch: watch::Watch::default(),
            ready: AtomicUsize::new(0),
            io: OnceLock::new(),
        })))
    }

    /// Adds the `/admin` namespace to `io` and starts the statistics and the watch.
    pub fn install(&self, io: &SocketIo) {
        if self.0.io.set(io.clone()).is_err() {
            return;
        }
        io.ns(events::NAMESPACE, namespace::on_connect.with(commands::register).with(auth::login));
        tokio::spawn(stats::run(self.clone()));
        tokio::spawn(watch::run(self.clone()));
        info!(
            user = %self.0.user.username,
            read_only = self.0.read_only,
            development = self.0.development,
            "Admin UI namespace {} open (UI at /admin-ui/)",
            events::NAMESPACE
        );
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
    pub fn io(&self) -> Option<&SocketIo> {
        self.0.io.get()
    }

    /// Whether some admin is watching.
    pub fn watched(&self) -> bool {
        self.0.ready.load(Ordering::Relaxed) > 0
    }

    /// The aggregated events of the next `server_stats`.
    pub fn events(&self) -> &stats::EventBuffer {
        &self.0.events
    }

    /// The sockets and rooms last told to the admins.
    pub fn watch(&self) -> &watch::Watch {
        &self.0.watch
    }

    /// Sends `event` to every admin that is ready (the namespace's own emits, not the chat's:
    /// they do not go through `outgoing`, as the Node.js package's do not go through its
    /// `onAnyOutgoing`). Sent to each socket in turn, so events keep their order.
    pub fn tell<T: Serialize + ?Sized>(&self, event: &str, data: &T) {
        let Some(admins) = self.io().and_then(|io| io.of(events::NAMESPACE)) else { return };
        for socket in admins.sockets() {
            if socket.extensions.get::<namespace::Ready>().is_some()
                && let Err(e) = socket.emit(event, data)
            {
                debug!(sid = %socket.id, event, error = %e, "admin event dropped");
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
