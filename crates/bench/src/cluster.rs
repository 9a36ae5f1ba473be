//! The cluster measure (`--scenarios cluster`, only when named): what running as several
//! nodes costs and gives on this machine.
//!
//! Setups, each measured on fresh nodes and a fresh database per measure:
//! - 1, 2, 3 nodes (`--cluster-nodes`) on one PostgreSQL database, joined through Redis, as
//!   `scripts/cluster.sh` starts them (same binary, its own address each);
//! - 1 node on PostgreSQL with the local adapter (no `REDIS_URL`);
//! - 1 node on SQLite, the default.
//!
//! For each: the moderate load (a fixed rate: CPU per delivery), the fan-out ladder of
//! `scenarios` (the highest rate whose p99 holds 100 ms), and the stored-and-acknowledged
//! rate of the `storage` measure. The receivers connect to the nodes directly, spread evenly
//! (receiver `i` on node `i mod N`), the sender to the first: no balancer in the path, so
//! the figures are the nodes' and not HAProxy's. Server CPU is the sum over the node
//! processes; Redis' CPU (the server the nodes use, found by its `INFO`) is counted apart.
//!
//! Chat messages do not cross Redis in this design (docs/CLUSTER.md): each node reads them
//! from PostgreSQL after a `NOTIFY` and delivers them to its own sockets. So for them the
//! Redis column is expected near zero. What does cross Redis is every adapter broadcast:
//! `typing`, room updates, `to` / `except` of those. The `typing` measure sends typing
//! notices at the moderate rate to the same receivers, so the price of a broadcast through
//! Redis (1 node with the Redis adapter against 1 node with the local one) is measured on
//! the path that pays it.

use std::fmt::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use socket_chat_protocol::events;
use tokio::sync::watch;

use crate::histogram::Latencies;
use crate::load::{self, Result};
use crate::pacing::Pacer;
use crate::raw::RawWs;
use crate::report::FanoutStep;
use crate::scenarios::{self, Room};
use crate::servers::{Server, cpu_seconds};

/// Time after the last typing notice for the last deliveries to arrive.
const SETTLE: Duration = Duration::from_millis(1000);

/// What to measure, from the command line.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Node counts of the clusters (PostgreSQL + Redis).
    pub nodes: Vec<usize>,
    /// Receivers, spread evenly over the nodes.
    pub receivers: usize,
    /// Messages a second of the moderate load.
    pub rate: f64,
    /// Seconds the moderate load is measured for.
    pub seconds: f64,
    /// Seconds of each fan-out step.
    pub step_seconds: f64,
    /// The PostgreSQL server, without a database name (`postgres://user@host:port`).
    pub postgres: String,
    /// The Redis the nodes join through.
    pub redis: String,
}

/// Where a setup keeps its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Store {
    /// A PostgreSQL database of the run's own, dropped at the end.
    Postgres,
    /// A SQLite file in the scratch folder.
    Sqlite,
}

/// One way of running the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// Node processes.
    pub nodes: usize,
    /// Their store.
    pub store: Store,
    /// Whether they are joined through Redis (the Redis adapter) or alone (local adapter).
    pub redis: bool,
}

impl Setup {
    /// Its name in the table: "3 nodes, PostgreSQL + Redis".
    pub fn name(&self) -> String {
        let nodes = if self.nodes == 1 { "1 node".to_owned() } else { format!("{} nodes", self.nodes) };
        let store = match self.store {
            Store::Postgres => "PostgreSQL",
            Store::Sqlite => "SQLite",
        };
        let adapter = if self.redis { " + Redis" } else { ", local adapter" };
        format!("{nodes}, {store}{adapter}")
    }
}

/// A step and the CPU Redis used meanwhile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    /// Deliveries, latency, CPU of the nodes (summed) and of the load generator.
    pub step: FanoutStep,
    /// CPU seconds of the Redis server during the step (every client of that Redis
    /// counts: other runs on the machine too); `None` without Redis or when it was not
    /// found.
    pub redis_cpu_s: Option<f64>,
}

impl Measured {
    /// Redis' CPU per delivered message, in µs.
    pub fn redis_cpu_us_per_delivery(&self) -> Option<f64> {
        let delivered = self.step.delivered_per_s * self.step.seconds;
        let cpu = self.redis_cpu_s?;
        (delivered > 0.0).then(|| cpu * 1e6 / delivered)
    }
}

/// Everything measured on one setup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetupReport {
    /// Which setup.
    pub setup: Setup,
    /// The moderate load.
    pub moderate: Option<Measured>,
    /// The fan-out ladder, warm-up left out.
    pub ladder: Vec<Measured>,
    /// Messages stored and acknowledged per second (10 clients spread over the nodes).
    pub stored_per_s: Option<f64>,
    /// Typing notices at the moderate rate, to the same receivers (no latency: a notice
    /// carries no send time).
    #[serde(default)]
    pub typing: Option<Measured>,
}

impl SetupReport {
    /// The highest delivered rate that held p99 within 100 ms.
    pub fn best(&self) -> Option<&Measured> {
        self.ladder
            .iter()
            .filter(|m| m.step.holds())
            .max_by(|a, b| a.step.delivered_per_s.total_cmp(&b.step.delivered_per_s))
    }
}

/// A whole cluster run (`bench/results/cluster.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClusterReport {
    /// When: seconds since the Unix epoch.
    pub at: String,
    /// `nproc`, memory, for context.
    pub machine: String,
    /// Receivers of every measure.
    pub receivers: usize,
    /// The setups, in the order measured.
    pub setups: Vec<SetupReport>,
}

/// The setups of `plan`: the clusters, then one node alone on PostgreSQL and on SQLite.
pub fn setups(plan: &Plan) -> Vec<Setup> {
    let mut setups: Vec<Setup> =
        plan.nodes.iter().map(|&nodes| Setup { nodes, store: Store::Postgres, redis: true }).collect();
    setups.push(Setup { nodes: 1, store: Store::Postgres, redis: false });
    setups.push(Setup { nodes: 1, store: Store::Sqlite, redis: false });
    setups
}

/// Measures every setup of `plan`; the release server is under `root`, SQLite files go to
/// `scratch`.
pub async fn run(plan: &Plan, root: &Path, scratch: &Path, machine: String, at: String) -> ClusterReport {
    let redis_pid = redis_pid(&plan.redis);
    if redis_pid.is_none() {
        eprintln!("   cluster: Redis at {} not found: its CPU is not counted", plan.redis);
    }
    let mut report = ClusterReport { at, machine, receivers: plan.receivers, setups: Vec::new() };
    let mut databases = Databases::new(&plan.postgres, scratch);
    for setup in setups(plan) {
        eprintln!("== {}", setup.name());
        let redis_pid = redis_pid.filter(|_| setup.redis);
        let mut result =
            SetupReport { setup: setup.clone(), moderate: None, ladder: Vec::new(), stored_per_s: None, typing: None };
        match Nodes::start(plan, root, &setup, &mut databases).await {
            Ok(nodes) => {
                result.moderate =
                    moderate(plan, &nodes, redis_pid).await.map_err(|e| eprintln!("   moderate: {e}")).ok();
                result.typing = typing(plan, &nodes, redis_pid).await.map_err(|e| eprintln!("   typing: {e}")).ok();
                nodes.stop(&mut databases).await;
            }
            Err(e) => eprintln!("   {e}"),
        }
        match Nodes::start(plan, root, &setup, &mut databases).await {
            Ok(nodes) => {
                result.ladder = ladder(plan, &nodes, redis_pid).await;
                nodes.stop(&mut databases).await;
            }
            Err(e) => eprintln!("   {e}"),
        }
        match Nodes::start(plan, root, &setup, &mut databases).await {
            Ok(nodes) => {
                match scenarios::storage_on(&nodes.ports()).await {
                    Ok(rate) => result.stored_per_s = Some(rate),
                    Err(e) => eprintln!("   storage: {e}"),
                }
                nodes.stop(&mut databases).await;
            }
            Err(e) => eprintln!("   {e}"),
        }
        report.setups.push(result);
    }
    report
}

/// The moderate load across the nodes: a short warm-up, then the measured step.
async fn moderate(plan: &Plan, nodes: &Nodes, redis_pid: Option<u32>) -> Result<Measured> {
    let mut room = Room::open_on(&nodes.ports(), nodes.pids(), plan.receivers).await?;
    let warm = room.step(plan.rate, 1.0).await?;
    scenarios::log_step("warm-up", &warm);
    let redis_before = redis_pid.map(|pid| cpu_seconds(Some(pid)));
    let step = room.step(plan.rate, plan.seconds).await?;
    let redis_cpu_s = redis_pid.zip(redis_before).map(|(pid, before)| cpu_seconds(Some(pid)) - before);
    scenarios::log_step(&format!("{:.0} msg/s", plan.rate), &step);
    Ok(Measured { step, redis_cpu_s })
}

/// Typing notices from one sender on the first node at the moderate rate for the moderate
/// time, to receivers spread over the nodes: every notice is an adapter broadcast (through
/// Redis when the nodes have it).
async fn typing(plan: &Plan, nodes: &Nodes, redis_pid: Option<u32>) -> Result<Measured> {
    let ports = nodes.ports();
    let sockets = futures_util::stream::iter(0..plan.receivers)
        .map(|i| RawWs::connect(ports[i % ports.len()], None))
        .buffer_unordered(100)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let (stop, stopped) = watch::channel(false);
    let counters: Vec<_> = sockets.into_iter().map(|ws| tokio::spawn(count_typing(ws, stopped.clone()))).collect();
    let mut sender = RawWs::connect(ports[0], None).await.map_err(|e| format!("sender: {e}"))?;
    let notice = format!("42[{},null]", serde_json::to_string(events::TYPING).map_err(|e| e.to_string())?);
    let server_cpu = || nodes.pids().into_iter().map(|pid| cpu_seconds(Some(pid))).sum::<f64>();
    let redis_cpu = || redis_pid.map(|pid| cpu_seconds(Some(pid)));
    let (nodes_before, redis_before, own_before) = (server_cpu(), redis_cpu(), cpu_seconds(None));
    let pacer = Pacer::new(Instant::now(), plan.rate);
    let end = Instant::now() + Duration::from_secs_f64(plan.seconds);
    let mut sent = 0u64;
    while Instant::now() < end {
        while sent < pacer.due(Instant::now()) {
            sender.queue_text(notice.as_bytes());
            sent += 1;
        }
        sender.flush().await?;
        load::read_until(&mut sender, pacer.at(sent).into()).await?;
    }
    load::read_until(&mut sender, (Instant::now() + SETTLE).into()).await?;
    let server_cpu_s = server_cpu() - nodes_before;
    let redis_cpu_s = redis_cpu().zip(redis_before).map(|(now, before)| now - before);
    let loadgen_cpu_s = cpu_seconds(None) - own_before;
    let _ = stop.send(true);
    let mut received = 0;
    for counter in counters {
        received += counter.await.map_err(|e| e.to_string())?;
    }
    let step = FanoutStep {
        receivers: plan.receivers,
        sent_per_s: sent as f64 / plan.seconds,
        delivered_per_s: received as f64 / plan.seconds,
        delivered_ratio: received as f64 / (sent * plan.receivers as u64).max(1) as f64,
        latency: Latencies::default().summary(),
        server_cpu_s,
        loadgen_cpu_s,
        seconds: plan.seconds,
    };
    eprintln!(
        "   typing {:>5}: {:>8.0} deliveries/s ({:.1}% delivered), cpu nodes {:.2} s / Redis {} / load {:.2} s ({:.2} µs nodes' CPU per delivery)",
        step.receivers,
        step.delivered_per_s,
        step.delivered_ratio * 100.0,
        step.server_cpu_s,
        redis_cpu_s.map_or("-".into(), |s| format!("{s:.2} s")),
        step.loadgen_cpu_s,
        step.server_cpu_us_per_delivery().unwrap_or(f64::NAN),
    );
    Ok(Measured { step, redis_cpu_s })
}

/// Counts the typing notices `ws` receives until `stop`, answering pings.
async fn count_typing(mut ws: RawWs, mut stop: watch::Receiver<bool>) -> u64 {
    let prefix = format!("42[{}", serde_json::to_string(events::TYPING).unwrap_or_default());
    let mut count = 0;
    loop {
        tokio::select! {
            read = ws.fill() => {
                if !matches!(read, Ok(true)) {
                    return count;
                }
                let mut ping = false;
                let open = ws.messages(|frame| {
                    if frame.starts_with(prefix.as_bytes()) {
                        count += 1;
                    } else if frame == b"2" {
                        ping = true;
                    }
                    ControlFlow::Continue(())
                });
                if ping {
                    ws.queue_text(b"3");
                }
                if !matches!(open, Ok(true)) || ws.flush().await.is_err() {
                    return count;
                }
            }
            _ = stop.changed() => return count,
        }
    }
}

/// The fan-out ladder across the nodes, with Redis' CPU step by step.
async fn ladder(plan: &Plan, nodes: &Nodes, redis_pid: Option<u32>) -> Vec<Measured> {
    let mut room = match Room::open_on(&nodes.ports(), nodes.pids(), plan.receivers).await {
        Ok(room) => room,
        Err(e) => {
            eprintln!("   fan-out: {e}");
            return Vec::new();
        }
    };
    let redis_cpu = || redis_pid.map(|pid| cpu_seconds(Some(pid)));
    let mut last = redis_cpu();
    // One entry per step the ladder ran, its warm-up first.
    let mut redis_steps = Vec::new();
    let steps = scenarios::ladder(&mut room, plan.step_seconds, |_| {
        let now = redis_cpu();
        redis_steps.push(now.zip(last).map(|(now, last)| now - last));
        last = now;
    })
    .await;
    steps
        .into_iter()
        .zip(redis_steps.into_iter().skip(1))
        .map(|(step, redis_cpu_s)| Measured { step, redis_cpu_s })
        .collect()
}

/// The node processes of one setup, on their database.
struct Nodes {
    servers: Vec<Server>,
    database: Database,
}

impl Nodes {
    /// Starts `setup.nodes` nodes on a fresh database, one after the other (the first
    /// applies the migrations).
    async fn start(plan: &Plan, root: &Path, setup: &Setup, databases: &mut Databases) -> Result<Self> {
        let database = databases.create(setup.store)?;
        let redis = setup.redis.then_some(plan.redis.as_str());
        let mut servers = Vec::new();
        for _ in 0..setup.nodes {
            match Server::start_node(root, &database.url, redis).await {
                Ok(server) => servers.push(server),
                Err(e) => {
                    let nodes = Self { servers, database };
                    nodes.stop(databases).await;
                    return Err(e);
                }
            }
        }
        Ok(Self { servers, database })
    }

    fn ports(&self) -> Vec<u16> {
        self.servers.iter().map(|s| s.port).collect()
    }

    fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(|s| s.pid).collect()
    }

    /// Stops the nodes, then drops their database.
    async fn stop(self, databases: &mut Databases) {
        for server in self.servers {
            server.stop().await;
        }
        databases.drop_database(self.database);
    }
}

/// A database made for one measure.
struct Database {
    /// What the nodes get as `--database-url`.
    url: String,
    /// PostgreSQL: its name, to drop it; SQLite: its file.
    name: String,
    store: Store,
}

/// Makes the measures' databases: `bench_cluster_<pid>_<n>` on PostgreSQL (so that runs
/// and other users of the server never meet, and the adapter's Redis channels, named after
/// the database, are this run's own), files in the scratch folder for SQLite.
struct Databases {
    postgres: String,
    scratch: PathBuf,
    made: usize,
}

impl Databases {
    fn new(postgres: &str, scratch: &Path) -> Self {
        Self { postgres: postgres.trim_end_matches('/').to_owned(), scratch: scratch.to_owned(), made: 0 }
    }

    fn create(&mut self, store: Store) -> Result<Database> {
        self.made += 1;
        let name = format!("bench_cluster_{}_{}", std::process::id(), self.made);
        match store {
            Store::Postgres => {
                self.psql(&format!("CREATE DATABASE \"{name}\""))?;
                Ok(Database { url: format!("{}/{name}", self.postgres), name, store })
            }
            Store::Sqlite => {
                let file = self.scratch.join(format!("{name}.db"));
                Ok(Database { url: format!("sqlite://{}", file.display()), name: file.display().to_string(), store })
            }
        }
    }

    fn drop_database(&self, database: Database) {
        let result = match database.store {
            Store::Postgres => self.psql(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", database.name)),
            Store::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", database.name));
                }
                Ok(())
            }
        };
        if let Err(e) = result {
            eprintln!("   cannot drop {}: {e}", database.name);
        }
    }

    /// Runs one statement with `psql` on the server's `postgres` database.
    fn psql(&self, statement: &str) -> Result<()> {
        let output = Command::new("psql")
            .arg(format!("{}/postgres", self.postgres))
            .args(["-qtAc", statement])
            .output()
            .map_err(|e| format!("cannot run psql (Debian: postgresql-client): {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!("{statement}: {}", String::from_utf8_lossy(&output.stderr).trim()))
        }
    }
}

/// The process id of the Redis server at `url`, from its `INFO server` (the right one even
/// when several run on the machine); `pgrep -x redis-server` when `redis-cli` cannot tell.
fn redis_pid(url: &str) -> Option<u32> {
    let info = Command::new("redis-cli").args(["-u", url, "INFO", "server"]).output().ok()?;
    info_field(&String::from_utf8_lossy(&info.stdout), "process_id").and_then(|v| v.parse().ok()).or_else(|| {
        let pgrep = Command::new("pgrep").args(["-x", "redis-server"]).output().ok()?;
        let pids = String::from_utf8_lossy(&pgrep.stdout).into_owned();
        // Only when there is exactly one: with several, which one the nodes use is a guess.
        match pids.split_whitespace().collect::<Vec<_>>().as_slice() {
            [one] => one.parse().ok(),
            _ => None,
        }
    })
}

/// The value of `field` in Redis' `INFO` text (`field:value` lines, CRLF).
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| line.trim_end().strip_prefix(field)?.strip_prefix(':'))
}

impl ClusterReport {
    fn find(&self, setup: &Setup) -> Option<&SetupReport> {
        self.setups.iter().find(|s| &s.setup == setup)
    }

    /// The tables: the moderate load, the best fan-out, the stored rate, then what they say
    /// about Redis and PostgreSQL, then every fan-out step.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let cell = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
        let rate = self.setups.iter().find_map(|s| s.moderate.as_ref()).map_or(0.0, |m| m.step.sent_per_s);
        let _ = writeln!(
            out,
            "cluster: {} receivers spread evenly over the nodes (direct connections), one sender on the first node; {}",
            self.receivers, self.machine
        );
        let _ = writeln!(out, "\nmoderate load, {rate:.0} msg/s");
        let header = |out: &mut String| {
            let _ = writeln!(
                out,
                "{:<36} {:>8} {:>12} {:>8} {:>8} {:>12} {:>12}",
                "setup", "msg/s", "deliveries/s", "p50 ms", "p99 ms", "nodes µs/del", "Redis µs/del"
            );
        };
        header(&mut out);
        let line = |out: &mut String, name: &str, m: Option<&Measured>| {
            let _ = writeln!(
                out,
                "{:<36} {:>8} {:>12} {:>8} {:>8} {:>12} {:>12}",
                name,
                cell(m.map(|m| m.step.sent_per_s), 0),
                cell(m.map(|m| m.step.delivered_per_s), 0),
                cell(m.map(|m| m.step.latency.p50_ms), 1),
                cell(m.map(|m| m.step.latency.p99_ms), 1),
                cell(m.and_then(|m| m.step.server_cpu_us_per_delivery()), 2),
                cell(m.and_then(Measured::redis_cpu_us_per_delivery), 2),
            );
        };
        for s in &self.setups {
            line(&mut out, &s.setup.name(), s.moderate.as_ref());
        }
        let _ = writeln!(out, "\nfan-out, highest rate with p99 <= 100 ms");
        header(&mut out);
        for s in &self.setups {
            line(&mut out, &s.setup.name(), s.best());
        }
        let _ = writeln!(out, "\nstored and acknowledged (10 clients spread over the nodes, 500 messages each)");
        for s in &self.setups {
            let _ = writeln!(out, "{:<36} {:>12} messages/s", s.setup.name(), cell(s.stored_per_s, 0));
        }
        let typing_rate = self.setups.iter().find_map(|s| s.typing.as_ref()).map_or(0.0, |m| m.step.sent_per_s);
        let _ = writeln!(
            out,
            "\ntyping notices, {typing_rate:.0}/s (an adapter broadcast: through Redis when the nodes have it)"
        );
        let _ = writeln!(
            out,
            "{:<36} {:>8} {:>12} {:>10} {:>12} {:>12}",
            "setup", "sent/s", "deliveries/s", "delivered", "nodes µs/del", "Redis µs/del"
        );
        for s in &self.setups {
            let m = s.typing.as_ref();
            let _ = writeln!(
                out,
                "{:<36} {:>8} {:>12} {:>10} {:>12} {:>12}",
                s.setup.name(),
                cell(m.map(|m| m.step.sent_per_s), 0),
                cell(m.map(|m| m.step.delivered_per_s), 0),
                m.map_or("-".to_owned(), |m| format!("{:.1}%", m.step.delivered_ratio * 100.0)),
                cell(m.and_then(|m| m.step.server_cpu_us_per_delivery()), 2),
                cell(m.and_then(Measured::redis_cpu_us_per_delivery), 2),
            );
        }
        out.push_str(&self.comparisons());
        let _ = writeln!(out, "\nevery fan-out step (CPU seconds: nodes / Redis / load generator)");
        for s in &self.setups {
            for m in &s.ladder {
                let _ = writeln!(
                    out,
                    "{:<36} {:>6.0} msg/s {:>9.0} deliveries/s ({:>5.1}%)  p50 {:>7.1} ms  p99 {:>7.1} ms  cpu {:.2} / {} / {:.2} s",
                    s.setup.name(),
                    m.step.sent_per_s,
                    m.step.delivered_per_s,
                    m.step.delivered_ratio * 100.0,
                    m.step.latency.p50_ms,
                    m.step.latency.p99_ms,
                    m.step.server_cpu_s,
                    cell(m.redis_cpu_s, 2),
                    m.step.loadgen_cpu_s,
                );
            }
        }
        out
    }

    /// What the moderate load says about Redis (1 node with it against 1 node without, both
    /// on PostgreSQL) and what storage says about PostgreSQL against SQLite.
    fn comparisons(&self) -> String {
        let mut out = String::from("\n");
        let pg = |redis| Setup { nodes: 1, store: Store::Postgres, redis };
        let per_delivery = |setup: &Setup| {
            self.find(setup).and_then(|s| s.moderate.as_ref()).and_then(|m| m.step.server_cpu_us_per_delivery())
        };
        if let (Some(with), Some(without)) = (per_delivery(&pg(true)), per_delivery(&pg(false))) {
            let redis = self
                .find(&pg(true))
                .and_then(|s| s.moderate.as_ref())
                .and_then(Measured::redis_cpu_us_per_delivery)
                .unwrap_or(0.0);
            let _ = writeln!(
                out,
                "going through Redis (1 node, PostgreSQL, moderate load): {with:.2} µs per delivery in the node with the \
                 Redis adapter, {without:.2} without ({:+.2} µs, {:+.0}%), plus {redis:.2} µs in Redis",
                with - without,
                (with / without - 1.0) * 100.0
            );
        }
        let typing = |setup: &Setup| self.find(setup).and_then(|s| s.typing.as_ref());
        if let (Some(with), Some(without)) = (
            typing(&pg(true)).and_then(|m| m.step.server_cpu_us_per_delivery()),
            typing(&pg(false)).and_then(|m| m.step.server_cpu_us_per_delivery()),
        ) {
            let redis = typing(&pg(true)).and_then(Measured::redis_cpu_us_per_delivery).unwrap_or(0.0);
            let _ = writeln!(
                out,
                "a broadcast through Redis (typing notices, 1 node): {with:.2} µs per delivery in the node with the \
                 Redis adapter, {without:.2} without ({:+.2} µs, {:+.0}%), plus {redis:.2} µs in Redis",
                with - without,
                (with / without - 1.0) * 100.0
            );
        }
        let stored = |store| self.find(&Setup { nodes: 1, store, redis: false }).and_then(|s| s.stored_per_s);
        if let (Some(pg), Some(sqlite)) = (stored(Store::Postgres), stored(Store::Sqlite)) {
            let _ = writeln!(
                out,
                "stored and acknowledged, 1 node: PostgreSQL {pg:.0} messages/s, SQLite {sqlite:.0} ({:.2}x)",
                pg / sqlite
            );
        }
        out
    }
}

/// Writes `cluster.json` and `cluster.txt` into `out`.
pub fn write(out: &Path, report: &ClusterReport) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(out.join("cluster.json"), json)?;
    std::fs::write(out.join("cluster.txt"), report.table())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::Summary;

    fn step(delivered_per_s: f64, p99: f64, server_cpu_s: f64) -> FanoutStep {
        FanoutStep {
            receivers: 1000,
            sent_per_s: delivered_per_s / 1000.0,
            delivered_per_s,
            delivered_ratio: 1.0,
            latency: Summary { count: 1, p50_ms: p99 / 2.0, p99_ms: p99, max_ms: p99 },
            server_cpu_s,
            loadgen_cpu_s: 0.5,
            seconds: 10.0,
        }
    }

    fn setup(nodes: usize, store: Store, redis: bool) -> SetupReport {
        SetupReport {
            setup: Setup { nodes, store, redis },
            moderate: None,
            ladder: Vec::new(),
            stored_per_s: None,
            typing: None,
        }
    }

    #[test]
    fn the_setups_are_the_clusters_then_one_node_alone_on_each_store() {
        let plan = Plan {
            nodes: vec![1, 2, 3],
            receivers: 1000,
            rate: 50.0,
            seconds: 10.0,
            step_seconds: 4.0,
            postgres: String::new(),
            redis: String::new(),
        };
        let names: Vec<String> = setups(&plan).iter().map(Setup::name).collect();
        assert_eq!(
            names,
            [
                "1 node, PostgreSQL + Redis",
                "2 nodes, PostgreSQL + Redis",
                "3 nodes, PostgreSQL + Redis",
                "1 node, PostgreSQL, local adapter",
                "1 node, SQLite, local adapter",
            ]
        );
    }

    #[test]
    fn reads_a_field_of_redis_info() {
        let info = "# Server\r\nredis_version:7.0.15\r\nprocess_id:75\r\nprocess_supervised:no\r\n";
        assert_eq!(info_field(info, "process_id"), Some("75"));
        assert_eq!(info_field(info, "redis_version"), Some("7.0.15"));
        // A field whose name starts another's is not mistaken for it.
        assert_eq!(info_field(info, "process"), None);
        assert_eq!(info_field("", "process_id"), None);
    }

    #[test]
    fn the_table_shows_cpu_per_delivery_of_nodes_and_redis_and_compares_stores() {
        // 50 000 deliveries/s for 10 s: 500 000 deliveries; 2 s of node CPU is 4 µs each,
        // 0.05 s of Redis 0.1 µs.
        let mut with_redis = setup(1, Store::Postgres, true);
        with_redis.moderate = Some(Measured { step: step(50_000.0, 8.0, 2.0), redis_cpu_s: Some(0.05) });
        with_redis.ladder = vec![
            Measured { step: step(40_000.0, 20.0, 2.0), redis_cpu_s: Some(0.01) },
            Measured { step: step(60_000.0, 90.0, 3.0), redis_cpu_s: Some(0.01) },
            Measured { step: step(90_000.0, 400.0, 4.0), redis_cpu_s: Some(0.01) },
        ];
        with_redis.typing = Some(Measured { step: step(50_000.0, 0.0, 3.0), redis_cpu_s: Some(1.0) });
        let mut local = setup(1, Store::Postgres, false);
        local.moderate = Some(Measured { step: step(50_000.0, 8.0, 1.6), redis_cpu_s: None });
        local.typing = Some(Measured { step: step(50_000.0, 0.0, 1.0), redis_cpu_s: None });
        local.stored_per_s = Some(3000.0);
        let mut sqlite = setup(1, Store::Sqlite, false);
        sqlite.stored_per_s = Some(6000.0);
        let report = ClusterReport { receivers: 1000, setups: vec![with_redis, local, sqlite], ..Default::default() };
        let table = report.table();

        let moderate = table.lines().find(|l| l.starts_with("1 node, PostgreSQL + Redis")).expect("{table}");
        assert!(moderate.contains(" 4.00 ") && moderate.ends_with(" 0.10"), "{moderate}");
        let local_line = table.lines().find(|l| l.starts_with("1 node, PostgreSQL, local adapter")).expect("{table}");
        assert!(local_line.contains(" 3.20 ") && local_line.trim_end().ends_with('-'), "{local_line}");
        // The best step is the fastest that held p99, not the fastest.
        let best = table.split("fan-out, highest rate").nth(1).expect("{table}");
        let best = best.lines().find(|l| l.starts_with("1 node, PostgreSQL + Redis")).expect("{table}");
        assert!(best.contains(" 60000 ") && best.contains(" 90.0 "), "{best}");
        assert!(
            table.contains("4.00 µs per delivery in the node with the Redis adapter, 3.20 without (+0.80 µs, +25%), plus 0.10 µs in Redis"),
            "{table}"
        );
        assert!(table.contains("PostgreSQL 3000 messages/s, SQLite 6000 (0.50x)"), "{table}");
        // Typing notices: 3 s of the node and 1 s of Redis for 500 000 deliveries.
        assert!(
            table.contains("typing notices, 1 node): 6.00 µs per delivery in the node with the Redis adapter, 2.00 without (+4.00 µs, +200%), plus 2.00 µs in Redis"),
            "{table}"
        );
        let typing = table.split("typing notices, 50/s").nth(1).expect("{table}");
        let typing = typing.lines().find(|l| l.starts_with("1 node, SQLite")).expect("{table}");
        assert!(typing.split_whitespace().skip(5).all(|c| c == "-"), "{typing}");
        // Every step is listed, the one that failed too.
        assert_eq!(
            table.lines().filter(|l| l.contains(" msg/s ") && l.contains("deliveries/s (")).count(),
            3,
            "{table}"
        );
    }

    #[test]
    fn a_setup_that_could_not_run_shows_dashes_not_zeros() {
        let report =
            ClusterReport { receivers: 1000, setups: vec![setup(3, Store::Postgres, true)], ..Default::default() };
        let table = report.table();
        let line = table.lines().find(|l| l.starts_with("3 nodes, PostgreSQL + Redis")).expect("{table}");
        assert!(line.split_whitespace().skip(5).all(|c| c == "-"), "{line}");
        assert!(!table.contains("going through Redis"), "{table}");
    }
}
