//! Runtime configuration: `Leptos.toml`, then environment variables, then flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use leptos::config::LeptosOptions;
use serde::Deserialize;

/// Command-line flags. Each one overrides the file and the environment.
#[derive(Debug, Parser)]
#[command(name = "socket-chat", version, about = "A real-time chat server (Socket.IO + Leptos)")]
pub struct Cli {
    /// Configuration file.
    #[arg(long, env = "SOCKET_CHAT_CONFIG", default_value = "Leptos.toml")]
    pub config: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed at start-up).
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// Database URL: `sqlite://data/socket-chat.db` (one node) or `postgres://…` (any
    /// number of nodes).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Redis URL, e.g. `redis://127.0.0.1:6379`: nodes started with the same one (and the
    /// same PostgreSQL `DATABASE_URL`) form one chat. Without it the node runs alone.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Largest message accepted, in bytes.
    #[arg(long)]
    pub max_message_bytes: Option<usize>,
    /// Messages rendered with the page and per page of history.
    #[arg(long)]
    pub history_page_size: Option<u32>,
    /// How long someone whose last tab closed still shows as online, in milliseconds (a
    /// reload is not a departure).
    #[arg(long)]
    pub presence_grace_ms: Option<u64>,
    /// Folder of the npm package `socket.io-client` whose `dist/` files are served at
    /// `/socket.io/` (`socket.io.js`...), as the Node.js server serves them.
    #[arg(long, env = "SOCKET_IO_CLIENT_DIR")]
    pub socket_io_client_dir: Option<PathBuf>,
    /// Folder of the built Socket.IO Admin UI (npm `@socket.io/admin-ui`, `ui/dist`), served
    /// at `/admin-ui/`.
    #[arg(long, env = "ADMIN_UI_DIR")]
    pub admin_ui_dir: Option<PathBuf>,
    /// The Admin UI's user name. With `--admin-password-hash`, opens the `/admin` namespace.
    #[arg(long, env = "ADMIN_USERNAME")]
    pub admin_username: Option<String>,
    /// The bcrypt hash of the admin's password (`socket-chat hash-password` makes one).
    #[arg(long, env = "ADMIN_PASSWORD_HASH", hide_env_values = true)]
    pub admin_password_hash: Option<String>,
    /// The Admin UI may look but not act (no emit, join, leave or disconnect).
    #[arg(long)]
    pub admin_read_only: bool,
    /// `development` sends the Admin UI every socket, room and event; `production` only
    /// the statistics.
    #[arg(long, value_enum)]
    pub admin_mode: Option<AdminMode>,
    /// The id this server reports to the Admin UI (default: the host name). Give each node
    /// of a cluster its own.
    #[arg(long)]
    pub admin_server_id: Option<String>,
    /// Origins whose pages may open a Socket.IO connection (repeat the flag, or separate
    /// with commas), e.g. `https://chat.example.org`; `*` allows any. Default: the site's
    /// own origin only (the request's `Host`).
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,
    /// Largest WebSocket frame and message, in bytes (bigger: the connection is closed).
    #[arg(long)]
    pub max_ws_message_bytes: Option<usize>,
    /// Largest HTTP long-polling payload, in bytes.
    #[arg(long)]
    pub max_polling_payload_bytes: Option<u64>,
    /// Most binary attachments in one packet (more: the connection is closed).
    #[arg(long)]
    pub max_binary_attachments: Option<usize>,
    /// Most arguments of one event (more: a `too_large` error ack).
    #[arg(long)]
    pub max_event_args: Option<usize>,
    /// Most chat rooms one socket may be in (more: a `too_many_rooms` error ack).
    #[arg(long)]
    pub max_rooms_per_socket: Option<usize>,
    /// Most sockets open at once from one IP address; 0: no limit.
    #[arg(long)]
    pub max_connections_per_ip: Option<usize>,
    /// Events one socket may send per second, on average; 0: no limit.
    #[arg(long)]
    pub socket_events_per_second: Option<u32>,
    /// Events one socket may send at once, after a quiet time.
    #[arg(long)]
    pub socket_event_burst: Option<u32>,
    /// Events all the sockets of one IP address may send per second; 0: no limit.
    #[arg(long)]
    pub ip_events_per_second: Option<u32>,
    /// Events all the sockets of one IP address may send at once.
    #[arg(long)]
    pub ip_event_burst: Option<u32>,
    /// Refused events after which a socket that keeps flooding is disconnected (counted in
    /// a bucket that empties by one every 100 ms).
    #[arg(long)]
    pub flood_disconnect_after: Option<u32>,
    /// Packets that may wait for one socket; past it, a socket that reads slower than the
    /// chat is caught up from the store at its own pace instead.
    #[arg(long)]
    pub max_queued_packets: Option<usize>,
    /// Milliseconds between Engine.IO pings (a client that does not answer in time is
    /// dropped; so is one whose ping cannot be queued).
    #[arg(long)]
    pub ping_interval_ms: Option<u64>,
    /// Milliseconds a client has to answer a ping.
    #[arg(long)]
    pub ping_timeout_ms: Option<u64>,
    /// Serve only what the official Socket.IO protocol test suite expects (socket.io-protocol,
    /// `test-suite/`), with its timings, instead of the chat: see `scripts/conformance.sh`.
    /// Only `--addr` (or the file's `site-addr`) applies; no database is opened.
    #[arg(long)]
    pub conformance: bool,
    /// What to do; serving when absent.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Commands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stores generated messages in the database (for demos and benchmarks), then exits.
    Seed {
        /// How many messages.
        #[arg(long, default_value_t = 1000)]
        messages: u32,
        /// The room they are sent to; everyone when absent.
        #[arg(long)]
        room: Option<String>,
    },
    /// Reads a password on standard input and prints its bcrypt hash, for
    /// `--admin-password-hash`.
    HashPassword {
        /// bcrypt's cost (4 to 31); each step doubles the time a check takes.
        #[arg(long, default_value_t = 10)]
        cost: u32,
    },
}

/// How much the Admin UI is told (the Node.js package's `mode` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AdminMode {
    /// Every socket, room and event, one by one (the package's default).
    #[default]
    Development,
    /// Only the statistics every 2 s: for busy servers.
    Production,
}

/// The `[chat]` section of the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", default, deny_unknown_fields)]
pub struct ChatConfig {
    /// Database URL.
    pub database_url: String,
    /// Redis between nodes; alone when absent.
    pub redis_url: Option<String>,
    /// Largest message accepted, in bytes of UTF-8.
    pub max_message_bytes: usize,
    /// Messages rendered with the page, and per page of history.
    pub history_page_size: u32,
    /// How long someone whose last socket went still shows as online, in milliseconds.
    pub presence_grace_ms: u64,
    /// The npm package `socket.io-client` (its `package.json` and `dist/`).
    pub socket_io_client_dir: PathBuf,
    /// The built Admin UI (`index.html`, `js/`, `css/`).
    pub admin_ui_dir: PathBuf,
    /// The admin user; the `/admin` namespace exists only when it and the hash are set.
    pub admin_username: Option<String>,
    /// The bcrypt hash of the admin's password.
    pub admin_password_hash: Option<String>,
    /// No admin commands, only observation.
    pub admin_read_only: bool,
    /// What the Admin UI is sent.
    pub admin_mode: AdminMode,
    /// The server id reported to the Admin UI; the host name when absent.
    pub admin_server_id: Option<String>,
    /// Origins allowed to open Socket.IO connections; empty: the site's own (same `Host`).
    pub allowed_origins: Vec<String>,
    /// Largest WebSocket frame and message, in bytes.
    pub max_ws_message_bytes: usize,
    /// Largest HTTP long-polling payload, in bytes (Engine.IO's `maxPayload`).
    pub max_polling_payload_bytes: u64,
    /// Most binary attachments in one Socket.IO packet.
    pub max_binary_attachments: usize,
    /// Most arguments of one event.
    pub max_event_args: usize,
    /// Most chat rooms one socket may be in.
    pub max_rooms_per_socket: usize,
    /// Most sockets open at once from one IP address (0: no limit).
    pub max_connections_per_ip: usize,
    /// Events per second per socket, on average (0: no limit).
    pub socket_events_per_second: u32,
    /// Events one socket may send at once.
    pub socket_event_burst: u32,
    /// Events per second per IP address, on average (0: no limit).
    pub ip_events_per_second: u32,
    /// Events one IP address may send at once.
    pub ip_event_burst: u32,
    /// Refused events after which a flooding socket is disconnected.
    pub flood_disconnect_after: u32,
    /// Packets that may wait for one socket; past it, a socket that reads slower than the
    /// chat is caught up from the store at its own pace.
    pub max_queued_packets: usize,
    /// Milliseconds between Engine.IO pings.
    pub ping_interval_ms: u64,
    /// Milliseconds a client has to answer a ping.
    pub ping_timeout_ms: u64,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/socket-chat.db".into(),
            redis_url: None,
            max_message_bytes: 4000,
            history_page_size: 50,
            presence_grace_ms: 5000,
            // Where scripts/setup.sh installs them (end2end/package-lock.json pins the versions).
            socket_io_client_dir: "end2end/node_modules/socket.io-client".into(),
            admin_ui_dir: "end2end/node_modules/@socket.io/admin-ui/ui/dist".into(),
            admin_username: None,
            admin_password_hash: None,
            admin_read_only: false,
            admin_mode: AdminMode::Development,
            admin_server_id: None,
            allowed_origins: Vec::new(),
            max_ws_message_bytes: 64 * 1024,
            max_polling_payload_bytes: 64 * 1024,
            max_binary_attachments: 10,
            max_event_args: 8,
            max_rooms_per_socket: 32,
            max_connections_per_ip: 256,
            socket_events_per_second: 100,
            socket_event_burst: 200,
            ip_events_per_second: 2500,
            ip_event_burst: 5000,
            flood_disconnect_after: 100,
            max_queued_packets: 1024,
            // socket.io's defaults.
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
        }
    }
}

/// The Admin UI's user, when one is configured.
#[derive(Clone)]
pub struct AdminUser {
    /// The name it logs in with.
    pub username: String,
    /// The bcrypt hash its password must match.
    pub password_hash: String,
}

impl std::fmt::Debug for AdminUser {
    // The hash stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminUser").field("username", &self.username).finish_non_exhaustive()
    }
}

impl ChatConfig {
    /// The admin user, when both its name and its password hash are set.
    pub fn admin_user(&self) -> Option<AdminUser> {
        Some(AdminUser { username: self.admin_username.clone()?, password_hash: self.admin_password_hash.clone()? })
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Leptos' options (site root, address…).
    pub leptos: LeptosOptions,
    /// Our own settings.
    pub chat: ChatConfig,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `[chat]` section is malformed.
    #[error("invalid [chat] section in {path}: {source}")]
    Chat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: toml::de::Error,
    },
    /// Leptos rejected its section or an environment variable.
    #[error("invalid Leptos options: {0}")]
    Leptos(String),
    /// A limit is out of range.
    #[error("{0}")]
    Invalid(&'static str),
    /// `hash-files` is on but the build's list of hashed names is not beside the binary
    /// (Leptos would fail on every page).
    #[error(
        "hash-files is on but {0} is missing: build with `cargo leptos build` (it writes that file), \
         or set LEPTOS_HASH_FILES=false"
    )]
    MissingHashFile(PathBuf),
}

/// With `hash-files` on, Leptos reads the hashed file names from `hash.txt` beside the
/// running binary on every page (and panics without it): check it once, at start-up.
pub fn check_hash_file(leptos: &LeptosOptions) -> Result<(), ConfigError> {
    if !leptos.hash_files {
        return Ok(());
    }
    let path = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&*leptos.hash_file)))
        .unwrap_or_else(|| PathBuf::from(&*leptos.hash_file));
    if path.is_file() { Ok(()) } else { Err(ConfigError::MissingHashFile(path)) }
}

/// Header of the section that `leptos_config` reads.
const LEPTOS_SECTION: &str = "[package.metadata.leptos]";

#[derive(Deserialize, Default)]
struct FileSections {
    #[serde(default)]
    chat: ChatConfig,
}

impl Config {
    /// Loads the file named by `cli.config` (optional: a missing file means defaults), then
    /// lets the environment and `cli` override it.
    pub fn load(cli: &Cli) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(&cli.config) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(ConfigError::Read { path: cli.config.clone(), source });
            }
        };
        let mut chat = match &text {
            Some(text) => {
                toml::from_str::<FileSections>(text)
                    .map_err(|source| ConfigError::Chat { path: cli.config.clone(), source })?
                    .chat
            }
            None => ChatConfig::default(),
        };
        // Leptos reads its own section and layers the LEPTOS_* variables on top (cargo-leptos
        // sets them); without that section, the variables and Leptos' defaults alone.
        let leptos = match text.as_deref().filter(|t| t.contains(LEPTOS_SECTION)) {
            Some(text) => leptos::config::get_config_from_str(text),
            None => leptos::config::get_configuration(None).map(|c| c.leptos_options),
        };
        let mut leptos = leptos.map_err(|e| ConfigError::Leptos(e.to_string()))?;
        if let Some(addr) = cli.addr {
            leptos.site_addr = addr;
        }
        if let Some(url) = &cli.database_url {
            chat.database_url = url.clone();
        }
        if let Some(url) = &cli.redis_url {
            chat.redis_url = Some(url.clone());
        }
        if let Some(max) = cli.max_message_bytes {
            chat.max_message_bytes = max;
        }
        if let Some(size) = cli.history_page_size {
            chat.history_page_size = size;
        }
        if let Some(grace) = cli.presence_grace_ms {
            chat.presence_grace_ms = grace;
        }
        if let Some(dir) = &cli.socket_io_client_dir {
            chat.socket_io_client_dir = dir.clone();
        }
        if let Some(dir) = &cli.admin_ui_dir {
            chat.admin_ui_dir = dir.clone();
        }
        if let Some(name) = &cli.admin_username {
            chat.admin_username = Some(name.clone());
        }
        if let Some(hash) = &cli.admin_password_hash {
            chat.admin_password_hash = Some(hash.clone());
        }
        chat.admin_read_only |= cli.admin_read_only;
        if let Some(mode) = cli.admin_mode {
            chat.admin_mode = mode;
        }
        if let Some(id) = &cli.admin_server_id {
            chat.admin_server_id = Some(id.clone());
        }
        if let Some(origins) = &cli.allowed_origins {
            chat.allowed_origins = origins.iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect();
        }
        macro_rules! flag {
            ($($name:ident),*) => { $( if let Some(value) = cli.$name { chat.$name = value; } )* };
        }
        flag!(
            max_ws_message_bytes,
            max_polling_payload_bytes,
            max_binary_attachments,
            max_event_args,
            max_rooms_per_socket,
            max_connections_per_ip,
            socket_events_per_second,
            socket_event_burst,
            ip_events_per_second,
            ip_event_burst,
            flood_disconnect_after,
            max_queued_packets,
            ping_interval_ms,
            ping_timeout_ms
        );
        check_limits(&chat)?;
        if chat.max_message_bytes == 0 {
            return Err(ConfigError::Invalid("max-message-bytes must be at least 1"));
        }
        if !(1..=1000).contains(&chat.history_page_size) {
            return Err(ConfigError::Invalid("history-page-size must be between 1 and 1000"));
        }
        check_admin(&chat)?;
        Ok(Self { leptos, chat })
    }
}

/// Limits that would make the server unusable are refused at start-up.
fn check_limits(chat: &ChatConfig) -> Result<(), ConfigError> {
    for origin in &chat.allowed_origins {
        if origin != "*" && super::origin::parse_origin(origin).is_none() {
            return Err(ConfigError::Invalid(
                "allowed-origins: each origin is scheme://host[:port] (e.g. https://chat.example.org), or *",
            ));
        }
    }
    if chat.max_ws_message_bytes < 1024 {
        return Err(ConfigError::Invalid("max-ws-message-bytes must be at least 1024"));
    }
    if chat.max_polling_payload_bytes < 1024 {
        return Err(ConfigError::Invalid("max-polling-payload-bytes must be at least 1024"));
    }
    if chat.max_event_args == 0 {
        return Err(ConfigError::Invalid("max-event-args must be at least 1"));
    }
    if chat.max_rooms_per_socket == 0 {
        return Err(ConfigError::Invalid("max-rooms-per-socket must be at least 1"));
    }
    if (chat.socket_events_per_second > 0 && chat.socket_event_burst == 0)
        || (chat.ip_events_per_second > 0 && chat.ip_event_burst == 0)
    {
        return Err(ConfigError::Invalid("an event burst must be at least 1 when its rate is limited"));
    }
    if chat.flood_disconnect_after == 0 {
        return Err(ConfigError::Invalid("flood-disconnect-after must be at least 1"));
    }
    if chat.ping_interval_ms < 100 || chat.ping_timeout_ms < 100 {
        return Err(ConfigError::Invalid("ping-interval-ms and ping-timeout-ms must be at least 100"));
    }
    if chat.max_queued_packets < 64 {
        return Err(ConfigError::Invalid("max-queued-packets must be at least 64"));
    }
    Ok(())
}

/// The admin user is all or nothing, and its hash must be one bcrypt can check (the Node.js
/// package refuses to start otherwise too).
fn check_admin(chat: &ChatConfig) -> Result<(), ConfigError> {
    match (&chat.admin_username, &chat.admin_password_hash) {
        (None, None) => Ok(()),
        (Some(_), None) | (None, Some(_)) => {
            Err(ConfigError::Invalid("admin-username and admin-password-hash must be set together"))
        }
        (Some(name), Some(_)) if name.trim().is_empty() => Err(ConfigError::Invalid("admin-username is empty")),
        (Some(_), Some(hash)) => match hash.parse::<bcrypt::HashParts>() {
            Ok(_) => Ok(()),
            Err(_) => Err(ConfigError::Invalid("admin-password-hash is not a bcrypt hash (e.g. $2b$10$...)")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::parse_from(std::iter::once("socket-chat").chain(args.iter().copied()))
    }

    #[test]
    fn file_then_flags() {
        let dir = std::env::temp_dir().join(format!("socket-chat-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("Leptos.toml");
        std::fs::write(
            &path,
            "[chat]\nmax-message-bytes = 10\n\n[package.metadata.leptos]\nsite-addr = \"127.0.0.1:4000\"\noutput-name = \"x\"\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let from_file = Config::load(&cli(&["--config", p])).unwrap();
        assert_eq!(from_file.chat.max_message_bytes, 10);
        assert_eq!(from_file.chat.history_page_size, 50);
        let flagged =
            Config::load(&cli(&["--config", p, "--max-message-bytes", "20", "--addr", "127.0.0.1:0"])).unwrap();
        assert_eq!(flagged.chat.max_message_bytes, 20);
        assert_eq!(flagged.leptos.site_addr.port(), 0);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_limits() {
        let dir = std::env::temp_dir().join(format!("socket-chat-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("Leptos.toml");
        std::fs::write(&path, "[chat]\nmax-mesage-bytes = 10\n").unwrap();
        let err = Config::load(&cli(&["--config", path.to_str().unwrap()])).unwrap_err();
        assert!(err.to_string().contains("max-mesage-bytes"), "{err}");
        std::fs::write(&path, "[chat]\nhistory-page-size = 0\n").unwrap();
        assert!(Config::load(&cli(&["--config", path.to_str().unwrap()])).is_err());
    }

    #[test]
    fn admin_user_from_file_then_flags() {
        let dir = std::env::temp_dir().join(format!("socket-chat-config-admin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("Leptos.toml");
        let hash = bcrypt::hash("secret", 4).unwrap();
        std::fs::write(&path, format!("[chat]\nadmin-username = \"ops\"\nadmin-password-hash = \"{hash}\"\n")).unwrap();
        let p = path.to_str().unwrap();
        let from_file = Config::load(&cli(&["--config", p])).unwrap();
        let user = from_file.chat.admin_user().expect("an admin user");
        assert_eq!(user.username, "ops");
        assert!(!format!("{user:?}").contains("$2"), "the hash stays out of Debug");
        assert_eq!(from_file.chat.admin_mode, AdminMode::Development);
        let flagged = Config::load(&cli(&[
            "--config",
            p,
            "--admin-username",
            "root",
            "--admin-read-only",
            "--admin-mode",
            "production",
        ]))
        .unwrap();
        assert_eq!(flagged.chat.admin_user().unwrap().username, "root");
        assert!(flagged.chat.admin_read_only);
        assert_eq!(flagged.chat.admin_mode, AdminMode::Production);
        // No admin unless configured.
        assert!(Config::load(&cli(&["--config", "/nonexistent.toml"])).unwrap().chat.admin_user().is_none());
    }

    #[test]
    fn rejects_half_an_admin_and_bad_hashes() {
        let none = "/nonexistent.toml";
        let err = Config::load(&cli(&["--config", none, "--admin-username", "ops"])).unwrap_err();
        assert!(err.to_string().contains("together"), "{err}");
        let err = Config::load(&cli(&["--config", none, "--admin-username", "ops", "--admin-password-hash", "secret"]))
            .unwrap_err();
        assert!(err.to_string().contains("bcrypt"), "{err}");
    }
}
