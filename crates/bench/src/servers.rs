//! The servers under test, each a child process on a free port with a fresh database, and
//! what /proc says about a process (resident memory, CPU time).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::load::Result;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// socket-chat, release build, SQLite.
    Ours,
    /// The official Node.js server running the tutorial's chat, SQLite.
    Official,
    /// The same without storage.
    OfficialNoStore,
    /// The minimal broadcaster (`floor.rs`): this benchmark's own binary, the least work a
    /// server can do for the load, as a reference.
    Floor,
}

impl Kind {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "socket-chat",
            Kind::Official => "official+sqlite",
            Kind::OfficialNoStore => "official, no store",
            Kind::Floor => FLOOR,
        }
    }
}

/// The floor's name in the report (`Report` finds its column by it).
pub const FLOOR: &str = "floor";

/// A running server.
pub struct Server {
    child: Child,
    /// Its port.
    pub port: u16,
    /// Its process id, for /proc.
    pub pid: u32,
}

/// Flags that lift socket-chat's per-client limits (README, "Limits and security") for the
/// benchmark. The load comes from one address, one sender at thousands of messages a second,
/// and the official server has no such limits: the limits a public server needs are off, so
/// both servers are measured doing the same work.
const UNLIMITED: [&str; 8] = [
    "--max-connections-per-ip",
    "0",
    "--socket-events-per-second",
    "0",
    "--ip-events-per-second",
    "0",
    "--allowed-origins",
    "*",
];

/// The outgoing queue of the measures, as it was before the slow-reader bound (so figures
/// stay comparable with earlier runs).
const QUEUE: [&str; 2] = ["--max-queued-packets", "16384"];

impl Server {
    /// Starts `kind` with a database under `dir`, and waits for its "listening on" line.
    /// Ours runs under `wrap` when it is not empty (a profiler).
    pub async fn start(kind: Kind, root: &Path, dir: &Path, wrap: &[String]) -> Result<Self> {
        Self::start_with(kind, root, dir, wrap, &QUEUE).await
    }

    /// [`Server::start`], with `extra` flags for ours instead of [`QUEUE`].
    pub async fn start_with(kind: Kind, root: &Path, dir: &Path, wrap: &[String], extra: &[&str]) -> Result<Self> {
        Self::start_flags(kind, root, dir, wrap, &[&UNLIMITED[..], extra].concat()).await
    }

    /// [`Server::start`], with exactly `flags` for ours: the limits they do not name keep
    /// their public defaults (the soak's case).
    pub async fn start_flags(kind: Kind, root: &Path, dir: &Path, wrap: &[String], flags: &[&str]) -> Result<Self> {
        let db = dir.join(format!("{}.db", kind.name().replace([' ', ',', '+'], "-")));
        let _ = std::fs::remove_file(&db);
        let mut command = match kind {
            Kind::Ours => {
                let binary = root.join("target/release/socket-chat");
                let mut c = match wrap.split_first() {
                    Some((wrapper, args)) => {
                        let mut c = Command::new(wrapper);
                        c.args(args).arg(binary);
                        c
                    }
                    None => Command::new(binary),
                };
                c.args(["--addr", "127.0.0.1:0", "--database-url"])
                    .arg(format!("sqlite://{}", db.display()))
                    .args(flags)
                    .env("LEPTOS_SITE_ROOT", root.join("target/site"))
                    .env("RUST_LOG", "info,socketioxide=error,engineioxide=error");
                // Only sockets are measured: a server built without cargo-leptos (no
                // hash.txt of the site's files) serves them all the same.
                if !root.join("target/release/hash.txt").exists() {
                    c.env("LEPTOS_HASH_FILES", "false");
                }
                c
            }
            Kind::Official | Kind::OfficialNoStore => {
                let mut c = Command::new("node");
                c.arg(root.join("bench/official-chat.cjs")).args(["--port", "0"]);
                if kind == Kind::Official {
                    c.arg("--db").arg(&db);
                } else {
                    c.arg("--no-store");
                }
                c
            }
            Kind::Floor => {
                let mut c = Command::new(std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?);
                c.args(["--floor-server", "0"]);
                c
            }
        };
        Self::launch(command.current_dir(root), kind.name()).await
    }

    /// Our server as a node of a cluster (or alone) on `database_url`, with the Redis
    /// adapter when `redis_url` is given, the measures' flags, on a free port.
    pub async fn start_node(root: &Path, database_url: &str, redis_url: Option<&str>) -> Result<Self> {
        let mut command = Command::new(root.join("target/release/socket-chat"));
        command
            .args(["--addr", "127.0.0.1:0", "--database-url", database_url])
            .args(UNLIMITED)
            .args(QUEUE)
            .env_remove("REDIS_URL")
            .env("LEPTOS_SITE_ROOT", root.join("target/site"))
            .env("RUST_LOG", "info,socketioxide=error,engineioxide=error")
            .current_dir(root);
        if let Some(url) = redis_url {
            command.args(["--redis-url", url]);
        }
        // Only sockets are measured: a server built without cargo-leptos (no hash.txt of
        // the site's files) serves them all the same.
        if !root.join("target/release/hash.txt").exists() {
            command.env("LEPTOS_HASH_FILES", "false");
        }
        Self::launch(&mut command, "socket-chat node").await
    }

    /// Spawns `command` and waits for its "listening on" line.
    async fn launch(command: &mut Command, name: &str) -> Result<Self> {
        let mut child = command
            // Its own process group, so that stopping it stops a wrapper's child too.
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let pid = child.id().ok_or("no pid")?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        // Its last line before it exited says why it did not start.
        let mut last = String::new();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line.split("listening on http://").nth(1) {
                    return addr.trim().rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                }
                last = line;
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| format!("{name} did not start: {last}"))?;
        // Keep reading its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, port, pid })
    }

    /// Stops it: SIGTERM to its process group (a profiler wrapping it writes its data
    /// when the server exits), SIGKILL after 10 s.
    pub async fn stop(mut self) {
        let group = format!("-{}", self.pid);
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status().await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status().await;
            let _ = self.child.wait().await;
        }
    }
}

/// Resident memory of `pid`, in KB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// CPU seconds (user + system) `pid` has used; `None` reads this process.
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(|| PathBuf::from("/proc/self/stat"), |p| PathBuf::from(format!("/proc/{p}/stat")));
    std::fs::read_to_string(path).ok().and_then(|stat| stat_cpu_seconds(&stat)).unwrap_or(0.0)
}

/// utime + stime of a `/proc/<pid>/stat` line, in seconds (at Linux's 100 ticks a second).
pub fn stat_cpu_seconds(stat: &str) -> Option<f64> {
    // Fields after the command name (which may hold spaces and parentheses) start at the
    // last ") ".
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 counted from the state.
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_user_plus_system_ticks_whatever_the_command_name() {
        // A line as redis-server (pid 75) has it: utime 1234 ticks, stime 566.
        let line = "75 (redis-server) S 1 75 75 0 -1 4194624 1180 0 0 0 1234 566 0 0 20 0 5 0 2719 \
                    75698176 3125 18446744073709551615 1 1 0 0 0 0 0 4097 17642 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(stat_cpu_seconds(line), Some(18.0));
        // A command name with ") " inside it does not shift the fields.
        let odd = line.replace("(redis-server)", "(a) b (c)");
        assert_eq!(stat_cpu_seconds(&odd), Some(18.0));
        // Truncated or not a stat line: no figure, rather than a wrong one.
        assert_eq!(stat_cpu_seconds("75 (redis-server) S 1 75"), None);
        assert_eq!(stat_cpu_seconds("garbage"), None);
    }
}
