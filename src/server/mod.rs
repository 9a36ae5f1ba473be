//! The server (feature `ssr`): one axum router serving the Leptos pages, the hydration
//! assets and Socket.IO on one port.
//!
//! - [`config`]: `Leptos.toml`, environment and flags.
//! - [`store`]: the message store: SQLite (one node) or PostgreSQL (any number).
//! - [`cluster`]: several nodes: the Redis adapter between them, `/healthz`.
//! - [`chat`]: the chat namespace `/`: connection, replay, `chat message`.
//! - [`rooms`]: chat rooms: join, leave, list, live member counts.
//! - [`history`]: older messages, a page at a time.
//! - [`users`]: sessions, nicknames, a room per user (private messages).
//! - [`presence`]: who is online, per room, with a grace period.
//! - [`presence_nodes`]: who is online on the other nodes, through Redis.
//! - [`unread`]: last-read offsets and unread counts.
//! - [`tutorial`]: the tutorial's ack and catch-all examples, on `/` and `/lab`.
//! - [`lab`]: the `/lab` namespace, the tutorial's playground.
//! - [`writer`]: the one task that stores and broadcasts messages, in offset order.
//! - [`replay`]: server delivery, the stored messages a socket missed.
//! - [`origin`]: the origin allowlist of Socket.IO requests.
//! - [`limits`]: connections per IP, arguments per event, rate limits.
//! - [`security_headers`]: the pages' Content-Security-Policy and other headers.
//! - [`outgoing`]: the one place every server emit and ack goes through.
//! - [`request_copy`]: Socket.IO requests copied out of hyper's read buffer (memory).
//! - [`tutorial_page`]: the tutorial's own page at `/tutorial`, and `/socket.io/socket.io.js`.
//! - [`admin`]: the Socket.IO Admin UI's `/admin` namespace and the UI at `/admin-ui/`.
//! - [`assets`]: the page's WASM, JS and CSS, precompressed and cached by hashed name.
//! - [`app`]: the router.
//! - [`conformance`]: `--conformance`, the server the official protocol test suite expects.

pub mod admin;
pub mod app;
pub mod assets;
pub mod chat;
pub mod cluster;
pub mod config;
pub mod conformance;
pub mod history;
pub mod lab;
pub mod limits;
pub mod origin;
pub mod outgoing;
pub mod presence;
pub mod presence_nodes;
pub mod replay;
pub mod request_copy;
pub mod rooms;
pub mod routes;
pub mod security_headers;
pub mod store;
pub mod tutorial;
pub mod tutorial_page;
pub mod unread;
pub mod users;
pub mod writer;

use std::process::ExitCode;

use clap::Parser;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide_redis::CustomRedisAdapter;
use tokio::net::TcpListener;
use tracing::{error, info};

use config::{ChatConfig, Cli, Config};
use store::MessageStore;

/// What every handler, and the page while the server renders it, can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The messages, for reads.
    pub store: MessageStore,
    /// Stores and broadcasts new messages, in order.
    pub writer: writer::Writer,
    /// Limits and sizes from the configuration.
    pub config: ChatConfig,
    /// Who is online.
    pub presence: presence::Registry,
    /// Sends the room list when it changes, at most every 250 ms.
    pub announcer: rooms::Announcer,
}

/// Parses the flags, loads the configuration, binds and serves until SIGINT or SIGTERM.
pub async fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,socketioxide=warn,engineioxide=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    if let Some(config::Command::HashPassword { cost }) = &cli.command {
        return hash_password(*cost);
    }
    let config = match Config::load(&cli) {
        Ok(config) => config,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.conformance {
        return serve_conformance(&cli, config).await;
    }
    if let Some(config::Command::Seed { messages, room }) = &cli.command {
        return match seed(&config.chat.database_url, *messages, room.as_deref()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                error!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Err(e) = config::check_hash_file(&config.leptos) {
        error!("{e}");
        return ExitCode::FAILURE;
    }
    let listener = match TcpListener::bind(config.leptos.site_addr).await {
        Ok(listener) => listener,
        Err(e) => {
            error!("cannot listen on {}: {e}", config.leptos.site_addr);
            return ExitCode::FAILURE;
        }
    };
    match serve(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Redis could not be used.
    #[error(transparent)]
    Redis(#[from] cluster::RedisError),
    /// The Redis adapter could not subscribe to its channels.
    #[error("the Redis adapter could not start: {0}")]
    Adapter(String),
    /// The listener failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves on a listener the caller bound (tests bind port 0) until `shutdown` completes.
///
/// With `redis_url` set, the node joins the others through the Redis adapter (its store
/// must then be PostgreSQL, shared by all); otherwise it runs alone on the local adapter.
///
/// Shutdown closes every Socket.IO connection, lets HTTP requests in flight finish, then
/// waits for the store's queries in flight: a message is acknowledged only once committed,
/// so nothing acknowledged is lost.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let store = MessageStore::open(&config.chat.database_url).await?;
    let (writer, writer_task) = writer::Writer::new(store.clone(), store.latest_offset().await?);
    let presence = presence::Registry::new(std::time::Duration::from_millis(config.chat.presence_grace_ms));
    let mut state = AppState {
        store: store.clone(),
        writer,
        config: config.chat.clone(),
        presence,
        announcer: rooms::Announcer::default(),
    };
    let Some(redis_url) = config.chat.redis_url.clone() else {
        let health = cluster::Health::new(store.clone(), None);
        let admin = admin::Admin::from_config(&config.chat);
        let (router, io, _started) =
            app::router(config.leptos.clone(), state, SocketIo::builder(), admin.clone(), health.clone());
        if let Some(admin) = &admin {
            admin.install(&io, false);
        }
        return run_node(listener, Node { router, io, writer_task, store, health, admin }, shutdown).await;
    };
    if !store.is_shared() {
        return Err(cluster::RedisError::NeedsSharedStore.into());
    }
    let prefix = cluster::channel_prefix(&config.chat.database_url);
    let redis = cluster::connect(&redis_url, prefix.clone()).await?;
    let nodes = presence_nodes::Nodes::new(redis.driver.clone(), &prefix);
    state.presence = state.presence.with_nodes(nodes.clone());
    let registry = state.presence.clone();
    let health = cluster::Health::new(store.clone(), Some(redis.client.clone()));
    let builder = SocketIo::builder().with_adapter::<CustomRedisAdapter<_, cluster::ClusterDriver>>(redis.adapter);
    // Each node runs its own `/admin` namespace; its admins see every node (src/server/admin).
    let admin = admin::Admin::from_config(&config.chat);
    let (router, io, mut started) = app::router(config.leptos.clone(), state, builder, admin.clone(), health.clone());
    if let Some(admin) = &admin {
        admin.sessions().share(redis.client.clone(), &prefix);
        started.extend(admin.install(&io, true));
    }
    for namespace in started {
        namespace.await.map_err(|e| ServeError::Adapter(e.to_string()))?;
    }
    let presence = tokio::spawn(nodes.run(io.clone(), registry));
    info!("joined the cluster through Redis");
    let served = run_node(listener, Node { router, io, writer_task, store, health, admin }, shutdown).await;
    // A stopped node stops telling the others who is here: its users go after FORGET_AFTER.
    presence.abort();
    served
}

/// What a node runs, built by [`serve`].
struct Node<A: Adapter> {
    router: axum::Router,
    /// Socket.IO, on `A` (local alone, Redis between nodes).
    io: SocketIo<A>,
    writer_task: writer::WriterTask,
    store: MessageStore,
    health: cluster::Health,
    admin: Option<admin::Admin<A>>,
}

/// Serves `node` until `shutdown` completes, then stops it in order: sockets closed, the
/// admin's tasks and the writer ended (what it had queued is stored and answered), the store
/// closed last. Each of them holds the Socket.IO server, whose state holds them: nothing
/// would end on its own, and the store cannot close while the writer's `LISTEN`
/// connection is out.
async fn run_node<A: Adapter>(
    listener: TcpListener,
    node: Node<A>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let Node { router, io, writer_task, store, health, admin } = node;
    let (stop_writer, writer_stopped) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn(writer_task.run(io.clone(), async {
        let _ = writer_stopped.await;
    }));
    let watch = tokio::spawn(health.watch());
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to find the port when it was 0.
    info!("listening on http://{addr}");
    let (sockets_closed, after_sockets_closed) = tokio::sync::oneshot::channel::<()>();
    // With the peer's address in each request (the Admin UI shows it).
    let serving = axum::serve(no_delay(listener), router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            info!("shutting down");
            io.close().await;
            let _ = sockets_closed.send(());
        })
        .into_future();
    // Once the sockets are closed, HTTP requests still in flight get SHUTDOWN_GRACE to
    // finish. Without a limit, one long-poll of an Engine.IO session that never joined a
    // namespace (which `io.close()` does not know about; a client's reconnection attempt
    // arriving during the shutdown is one) held the whole stop until its next ping.
    let grace = async move {
        match after_sockets_closed.await {
            Ok(()) => tokio::time::sleep(SHUTDOWN_GRACE).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = serving => served?,
        () = grace => tracing::warn!(
            "HTTP requests still in flight {} s after the sockets closed: stopping without them",
            SHUTDOWN_GRACE.as_secs()
        ),
    }
    if let Some(admin) = admin {
        admin.stop();
    }
    let _ = stop_writer.send(());
    let _ = writer.await;
    watch.abort();
    store.close().await;
    info!("stopped");
    Ok(())
}

/// How long HTTP requests still in flight may run once every socket is closed at shutdown.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// `listener` with Nagle's algorithm off on every connection it accepts (as Node.js's HTTP
/// server does by default): a real-time server writes small frames, often two in a row (an
/// acknowledgement, then the broadcast), and the second must not wait for the client's
/// delayed ACK (40 ms on Linux).
pub fn no_delay(listener: TcpListener) -> axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    })
}

/// `socket-chat --conformance`: binds the configured address and serves
/// [`conformance`] until SIGINT or SIGTERM.
async fn serve_conformance(cli: &Cli, config: Config) -> ExitCode {
    if cli.command.is_some() {
        error!("--conformance serves the protocol test suite and takes no command");
        return ExitCode::FAILURE;
    }
    let addr = config.leptos.site_addr;
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            error!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match conformance::serve(listener, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `socket-chat seed`: stores `count` generated messages, in transactions of 10 000.
async fn seed(database_url: &str, count: u32, room: Option<&str>) -> Result<(), store::StoreError> {
    let store = MessageStore::open(database_url).await?;
    let started = std::time::Instant::now();
    let texts: Vec<String> = (1..=count).map(|i| format!("Seeded message {i}")).collect();
    for chunk in texts.chunks(10_000) {
        let batch: Vec<store::NewMessage<'_>> =
            chunk.iter().map(|content| store::NewMessage { content, room, ..Default::default() }).collect();
        store.insert_many(&batch).await?;
    }
    store.close().await;
    info!("stored {count} messages in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `socket-chat hash-password`: reads a password on standard input (one line), prints its
/// bcrypt hash for `--admin-password-hash`.
fn hash_password(cost: u32) -> ExitCode {
    let mut password = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut password) {
        error!("cannot read the password: {e}");
        return ExitCode::FAILURE;
    }
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        error!("the password is empty");
        return ExitCode::FAILURE;
    }
    match bcrypt::hash(password, cost) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!("cannot hash the password: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
