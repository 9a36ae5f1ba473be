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
    /// Database URL, e.g. `sqlite://data/socket-chat.db`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Largest message accepted, in bytes.
    #[arg(long)]
    pub max_message_bytes: Option<usize>,
    /// Messages rendered with the page and per page of history.
    #[arg(long)]
    pub history_page_size: Option<u32>,
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
    /// Largest message accepted, in bytes of UTF-8.
    pub max_message_bytes: usize,
    /// Messages rendered with the page, and per page of history.
    pub history_page_size: u32,
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
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/socket-chat.db".into(),
            max_message_bytes: 4000,
            history_page_size: 50,
            // Where scripts/setup.sh installs them (end2end/package-lock.json pins the versions).
            socket_io_client_dir: "end2end/node_modules/socket.io-client".into(),
            admin_ui_dir: "end2end/node_modules/@socket.io/admin-ui/ui/dist".into(),
            admin_username: None,
            admin_password_hash: None,
            admin_read_only: false,
            admin_mode: AdminMode::Development,
            admin_server_id: None,
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
        if let Some(max) = cli.max_message_bytes {
            chat.max_message_bytes = max;
        }
        if let Some(size) = cli.history_page_size {
            chat.history_page_size = size;
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
