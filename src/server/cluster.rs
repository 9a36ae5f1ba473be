//! Several nodes: the Redis adapter between them, and each node's health.
//!
//! With `REDIS_URL`, socketioxide's Redis adapter (`socketioxide-redis`, fred driver, RESP3)
//! carries what one node does to sockets of the others: broadcasts (typing, room counts),
//! `to` / `except`, joins and leaves, `fetch_sockets` (member counts on every node), the
//! tutorial's broadcast acks. Chat messages are not among them: each node delivers them
//! to its own sockets from the shared PostgreSQL store, in offset order (see the writer).
//! fred reconnects on its own, and subscribes again: a node that lost Redis recovers when
//! Redis is back. docs/CLUSTER.md has the whole design.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use serde::Serialize;
use socketioxide_redis::drivers::fred::fred_client as fred;
use socketioxide_redis::drivers::fred::{FredDriver, FredError};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use socketioxide_redis::{RedisAdapterConfig, RedisAdapterCtr};
use tracing::{info, warn};

use fred::clients::SubscriberClient;
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use fred::types::config::{Config, ReconnectPolicy};
use fred::types::{Builder, RespVersion};

use super::store::MessageStore;

/// How long the first connection to Redis may take before start-up fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a Redis command (a publish) waits, Redis being away.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a health check waits for an answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// How often each node checks its database and Redis, to log when it loses or regains them.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Why Redis could not be used at start-up.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL is not one fred reads.
    #[error("invalid REDIS_URL {url:?}: {source}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        source: fred::error::Error,
    },
    /// Redis did not answer (or refused RESP3).
    #[error("cannot connect to Redis at {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Redis without a shared store: each node would number messages on its own.
    #[error("REDIS_URL joins nodes into one chat, so they need one message store: set DATABASE_URL to postgres://…")]
    NeedsSharedStore,
}

/// A connection to Redis for the adapter, and the client to ask about its health.
pub struct Redis {
    /// What `SocketIo::builder().with_adapter` takes.
    pub adapter: RedisAdapterCtr<ClusterDriver>,
    /// The same connection, for health checks.
    pub client: SubscriberClient,
    /// The same connection, for the nodes' own channels (presence).
    pub driver: ClusterDriver,
}

/// The prefix of the adapter's Redis channels for nodes whose store is `database_url`: the
/// nodes of one chat are those that share a database, and two chats (two test runs, say)
/// sharing one Redis never hear each other.
pub fn channel_prefix(database_url: &str) -> String {
    format!("socket-chat#{}", super::store::redacted(database_url))
}

/// Connects to Redis at `url` (RESP3, whatever the URL says: the adapter needs it), with
/// reconnection for ever, every 100 ms to 2 s; the adapter's channels start with `prefix`.
pub async fn connect(url: &str, prefix: String) -> Result<Redis, RedisError> {
    let mut config = Config::from_url(url).map_err(|source| RedisError::Url { url: url.into(), source })?;
    config.version = RespVersion::RESP3;
    config.fail_fast = true;
    let client = Builder::from_config(config)
        .with_connection_config(|c| c.connection_timeout = Duration::from_secs(3))
        // While Redis is away fred queues commands; without a timeout a broadcast (and the
        // handler awaiting it) would wait for Redis to come back.
        .with_performance_config(|p| p.default_command_timeout = COMMAND_TIMEOUT)
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 2000, 2))
        .build_subscriber_client()
        .map_err(|e| RedisError::Connect { url: url.into(), reason: e.to_string() })?;
    let connect = |reason: String| RedisError::Connect { url: url.into(), reason };
    let fred = tokio::time::timeout(CONNECT_TIMEOUT, FredDriver::new(client.clone()))
        .await
        .map_err(|_| connect(format!("no answer in {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| connect(e.to_string()))?;
    let driver = ClusterDriver { fred, channels: Arc::default() };
    let adapter = RedisAdapterCtr::new_with_driver(driver.clone(), RedisAdapterConfig::new().with_prefix(prefix));
    let (subscriber, on_reconnect) = (client.clone(), driver.clone());
    // Both listeners run as long as the client; their handles are not needed.
    drop(client.on_reconnect(move |server| {
        let driver = on_reconnect.clone();
        let client = subscriber.clone();
        async move {
            info!(%server, "Redis is back: connected again");
            driver.resubscribe(&client).await;
            Ok(())
        }
    }));
    drop(client.on_error(|(error, server)| async move {
        warn!(%error, server = ?server.map(|s| s.to_string()), "Redis connection error; reconnecting");
        Ok(())
    }));
    Ok(Redis { adapter, client, driver })
}

/// socketioxide-redis's fred driver, which also subscribes again after a reconnection.
///
/// The fred driver subscribes through a clone of the client, and a clone keeps its own list
/// of channels, so fred's own `manage_subscriptions` has nothing to restore: after Redis
/// restarts the node would publish but never hear the others. This driver keeps the list.
#[derive(Clone)]
pub struct ClusterDriver {
    fred: FredDriver,
    /// The adapter's channels (one global, one per node and namespace for requests and
    /// responses).
    channels: Arc<Mutex<BTreeSet<String>>>,
}

impl ClusterDriver {
    async fn resubscribe(&self, client: &SubscriberClient) {
        let channels: Vec<String> = self.channels.lock().map(|c| c.iter().cloned().collect()).unwrap_or_default();
        for channel in channels {
            if let Err(e) = client.ssubscribe(channel.as_str()).await {
                warn!(error = %e, channel, "cannot subscribe again");
            }
        }
    }
}

impl Driver for ClusterDriver {
    type Error = FredError;

    fn publish(&self, chan: String, val: Vec<u8>) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.fred.publish(chan, val)
    }

    async fn subscribe(&self, chan: String, size: usize) -> Result<MessageStream<ChanItem>, Self::Error> {
        if let Ok(mut channels) = self.channels.lock() {
            channels.insert(chan.clone());
        }
        self.fred.subscribe(chan, size).await
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        if let Ok(mut channels) = self.channels.lock() {
            channels.remove(&chan);
        }
        self.fred.unsubscribe(chan).await
    }

    fn num_serv(&self, chan: &str) -> impl Future<Output = Result<u16, Self::Error>> + Send {
        self.fred.num_serv(chan)
    }
}

/// What `/healthz` checks on this node.
#[derive(Clone)]
pub struct Health {
    store: MessageStore,
    redis: Option<SubscriberClient>,
}

/// `/healthz`'s answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct HealthReport {
    /// `ok` when everything below is, `degraded` otherwise.
    pub status: &'static str,
    /// The message store.
    pub store: Part,
    /// The Socket.IO adapter between nodes.
    pub adapter: Part,
}

/// One checked part.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Part {
    /// `sqlite`, `postgres`; `local` (one node) or `redis`.
    pub kind: &'static str,
    /// Whether it answered.
    pub ok: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Health {
    /// Checks `store`, and Redis through `redis` when the node uses it.
    pub fn new(store: MessageStore, redis: Option<SubscriberClient>) -> Self {
        Self { store, redis }
    }

    /// Asks the store and Redis now (each at most [`CHECK_TIMEOUT`]).
    pub async fn check(&self) -> HealthReport {
        let store = match tokio::time::timeout(CHECK_TIMEOUT, self.store.ping()).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer in {CHECK_TIMEOUT:?}")),
        };
        let store = Part { kind: self.store.engine(), ok: store.is_none(), error: store };
        let adapter = match &self.redis {
            None => Part { kind: "local", ok: true, error: None },
            Some(client) => {
                let error = if client.is_connected() {
                    match tokio::time::timeout(CHECK_TIMEOUT, client.ping::<String>(None)).await {
                        Ok(Ok(_)) => None,
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(_) => Some(format!("no answer in {CHECK_TIMEOUT:?}")),
                    }
                } else {
                    Some(format!("not connected ({:?})", client.state()))
                };
                Part { kind: "redis", ok: error.is_none(), error }
            }
        };
        let status = if store.ok && adapter.ok { "ok" } else { "degraded" };
        HealthReport { status, store, adapter }
    }

    /// `GET /healthz`: the report, `200` when all is well, `503` otherwise.
    pub async fn respond(self) -> (StatusCode, Json<HealthReport>) {
        let report = self.check().await;
        let code = if report.status == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
        (code, Json(report))
    }

    /// Checks every second for ever and logs each change: a node that loses PostgreSQL or
    /// Redis says so in its log (once), and again when it has them back.
    pub async fn watch(self) {
        let mut last: Option<HealthReport> = None;
        loop {
            let report = self.check().await;
            let before = last.as_ref();
            for (name, part, was) in [
                ("store", &report.store, before.map(|r| &r.store)),
                ("adapter", &report.adapter, before.map(|r| &r.adapter)),
            ] {
                match (part.ok, was.map(|w| w.ok)) {
                    (false, None | Some(true)) => {
                        warn!(part = name, kind = part.kind, error = part.error.as_deref().unwrap_or(""), "unavailable")
                    }
                    (true, Some(false)) => info!(part = name, kind = part.kind, "available again"),
                    _ => {}
                }
            }
            last = Some(report);
            tokio::time::sleep(WATCH_EVERY).await;
        }
    }
}
