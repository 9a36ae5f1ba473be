//! Runtime configuration: `Leptos.toml`, then environment variables, then flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
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
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self { database_url: "sqlite://data/socket-chat.db".into(), max_message_bytes: 4000, history_page_size: 50 }
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
        if chat.max_message_bytes == 0 {
            return Err(ConfigError::Invalid("max-message-bytes must be at least 1"));
        }
        if !(1..=1000).contains(&chat.history_page_size) {
            return Err(ConfigError::Invalid("history-page-size must be between 1 and 1000"));
        }
        Ok(Self { leptos, chat })
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
}
