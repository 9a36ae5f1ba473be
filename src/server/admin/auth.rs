//! Logging in to `/admin`, as the Node.js package's basic authentication does: the
//! handshake's `auth` carries `{ username, password }`, checked against the configured
//! bcrypt hash, or `{ sessionId }` from an earlier login (the UI keeps it in
//! `localStorage` and reconnects with it). Anything else gets the connect error
//! `invalid credentials`, the text the UI recognises.
//!
//! With several nodes the sessions are kept in Redis too (the package's `RedisStore`), so
//! the UI reconnecting to another node (its node gone, or the balancer's choice) keeps its
//! session.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use socketioxide_redis::drivers::fred::fred_client as fred;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use fred::clients::SubscriberClient;
use fred::interfaces::ClientLike;
use fred::types::{ClusterHash, CustomCommand};

use super::Admin;
use super::snapshot::Issued;
use crate::protocol::admin::AdminAuth;
use crate::protocol::events::admin as events;

/// bcrypt checks running at once: each takes tens of milliseconds of CPU on purpose, so a
/// flood of wrong passwords must not take every core.
const CONCURRENT_CHECKS: usize = 2;

/// How long a session kept in Redis lasts (the package's `RedisStore` default: a day).
const SHARED_FOR: Duration = Duration::from_secs(24 * 3600);

/// Session ids handed out since the server started (the package's `InMemoryStore`), and,
/// with several nodes, those of every node (its `RedisStore`).
pub struct Sessions {
    ids: Mutex<HashSet<String>>,
    /// Limits the bcrypt checks in progress.
    checks: Arc<Semaphore>,
    /// Redis, and the prefix of the session keys, when the nodes share them.
    shared: OnceLock<(SubscriberClient, String)>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self { ids: Mutex::default(), checks: Arc::new(Semaphore::new(CONCURRENT_CHECKS)), shared: OnceLock::new() }
    }
}

impl Sessions {
    /// Keeps the sessions in `client`'s Redis too, as `<prefix>#admin-session#<id>`.
    pub fn share(&self, client: SubscriberClient, prefix: &str) {
        let _ = self.shared.set((client, format!("{prefix}#admin-session#")));
    }

    /// Whether `id` was handed out here, or by another node.
    async fn contains(&self, id: &str) -> bool {
        if self.ids.lock().unwrap_or_else(|e| e.into_inner()).contains(id) {
            return true;
        }
        let Some((client, prefix)) = self.shared.get() else { return false };
        // Plain commands: socketioxide-redis builds fred without its keys interface.
        let exists = CustomCommand::new_static("EXISTS", ClusterHash::FirstKey, false);
        match client.custom::<u32, _>(exists, vec![format!("{prefix}{id}")]).await {
            Ok(found) => found > 0,
            Err(e) => {
                warn!(error = %e, "cannot ask Redis for an admin session");
                false
            }
        }
    }

    /// A new session id: 8 random bytes in hex, like the package's
    /// `randomBytes(8).toString("hex")`. `None` if the OS has no randomness to give.
    async fn create(&self) -> Option<String> {
        let id = format!("{:016x}", getrandom::u64().ok()?);
        self.ids.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone());
        if let Some((client, prefix)) = self.shared.get() {
            let set = CustomCommand::new_static("SET", ClusterHash::FirstKey, false);
            let args = vec![format!("{prefix}{id}"), "1".into(), "EX".into(), SHARED_FOR.as_secs().to_string()];
            // Redis away: the session still works on this node.
            if let Err(e) = client.custom::<(), _>(set, args).await {
                warn!(error = %e, "cannot keep an admin session in Redis");
            }
        }
        Some(id)
    }
}

/// A session created by this login: sent to the admin once it is connected.
#[derive(Clone)]
pub struct NewSession(pub String);

/// The one reason a login fails, worded as the UI expects.
#[derive(Debug, thiserror::Error)]
#[error("{}", events::INVALID_CREDENTIALS)]
pub struct InvalidCredentials;

/// The `/admin` middleware: lets the socket connect with a known session or the right
/// user and password; refuses everything else with `invalid credentials`.
pub async fn login<A: Adapter>(
    socket: SocketRef<A>,
    TryData(auth): TryData<AdminAuth>,
    State(admin): State<Admin<A>>,
) -> Result<(), InvalidCredentials> {
    let auth = auth.unwrap_or_default();
    if let Some(id) = &auth.session_id
        && admin.0.sessions.contains(id).await
    {
        socket.extensions.insert(Issued(SystemTime::now()));
        return Ok(());
    }
    let (Some(username), Some(password)) = (auth.username, auth.password) else {
        warn!(sid = %socket.id, "admin login without credentials");
        return Err(InvalidCredentials);
    };
    // The hash is checked whatever the name, so a wrong name takes as long as a wrong password.
    let hash = admin.0.user.password_hash.clone();
    let matches = match admin.0.sessions.checks.clone().acquire_owned().await {
        Ok(_permit) => {
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false)).await.unwrap_or(false)
        }
        Err(_) => false,
    };
    if !(matches && username == admin.0.user.username) {
        warn!(sid = %socket.id, %username, "admin login refused");
        return Err(InvalidCredentials);
    }
    let Some(session) = admin.0.sessions.create().await else {
        warn!(sid = %socket.id, "no randomness for a session id; admin login refused");
        return Err(InvalidCredentials);
    };
    info!(sid = %socket.id, %username, "admin logged in");
    socket.extensions.insert(NewSession(session));
    socket.extensions.insert(Issued(SystemTime::now()));
    Ok(())
}
