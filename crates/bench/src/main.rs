//! socket-chat-bench: our server and the official Node.js server, side by side on this
//! machine, in one run (these machines are noisy: only same-run ratios mean anything).
//!
//! For each server in turn: fan-out (one sender, 100 and 1 000 receivers, increasing rates,
//! the highest rate whose p99 latency stays within 100 ms), the moderate load (100 and
//! 1 000 receivers, 50 messages/s: the server's CPU per delivery), memory per idle connection
//! (5 000 and 10 000), stored and acknowledged messages per second, and the time for a
//! client back after 10 000 missed messages to have them all. The floor (`floor.rs`, a
//! minimal broadcaster written for the benchmark) runs the fan-out, moderate and idle measures
//! too: the table gives each cost's goal (`goals.rs`: half the official server's, or the
//! floor's + 10 % where that is higher) and whether ours meets it. Then the release WASM + JS +
//! CSS size. Then ours again at the official server's best fan-out rates (p99 there). It
//! prints one table and writes `bench/results/latest.{json,svg}`.
//!
//! Run it with `scripts/bench.sh` (which builds the release server and installs the peer).
//! `--scenarios cluster` (only when named) measures our server alone: 1 to 3 nodes on
//! PostgreSQL + Redis, one node on PostgreSQL and on SQLite (`cluster.rs`, results in
//! `cluster.{txt,json}`).

mod cluster;
mod floor;
mod goals;
mod histogram;
mod load;
mod pacing;
mod raw;
mod report;
mod scenarios;
mod servers;
mod soak;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::report::{Report, ServerReport};
use clap::Parser;

use servers::{Kind, Server};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "socket-chat-bench", about = "socket-chat and the official Socket.IO server, side by side")]
struct Options {
    /// The repository (where target/ and bench/ are).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Seconds each fan-out step sends for.
    #[arg(long, default_value_t = 4.0)]
    step_seconds: f64,
    /// Receiver counts for fan-out.
    #[arg(long, value_delimiter = ',', default_values_t = [100usize, 1000])]
    receivers: Vec<usize>,
    /// Receiver counts for the moderate load (a fixed rate, CPU per delivery).
    #[arg(long, value_delimiter = ',', default_values_t = [100usize, 1000])]
    moderate: Vec<usize>,
    /// Messages per second of the moderate load.
    #[arg(long, default_value_t = scenarios::MODERATE_RATE)]
    moderate_rate: f64,
    /// Seconds the moderate load is measured for.
    #[arg(long, default_value_t = 10.0)]
    moderate_seconds: f64,
    /// Idle connection counts for memory.
    #[arg(long, value_delimiter = ',', default_values_t = [5000usize, 10000])]
    idle: Vec<usize>,
    /// Only these servers (socket-chat, official, bare, floor: the minimal broadcaster of
    /// `floor.rs`, the reference of the goals).
    #[arg(long, value_delimiter = ',', default_values_t = [String::from("socket-chat"), String::from("official"), String::from("bare"), String::from("floor")])]
    servers: Vec<String>,
    /// Only these measures (fanout, moderate, rival, idle, storage, catchup; and `slow`, only
    /// when named: 1 000 sockets that never read while others chat, RSS every 5 s; and `soak`,
    /// only when named: `--soak-clients` chatting for `--soak-minutes`, a verdict). `rival`
    /// runs ours at the official server's best fan-out rate (it needs both servers' fan-out).
    #[arg(long, value_delimiter = ',', default_values_t = [String::from("fanout"), String::from("moderate"), String::from("rival"), String::from("idle"), String::from("storage"), String::from("catchup")])]
    scenarios: Vec<String>,
    /// Seconds the `slow` measure chats for.
    #[arg(long, default_value_t = 60)]
    slow_seconds: u64,
    /// Clients of the `soak` (only when named: clients chatting for minutes, the server's RSS
    /// and open descriptors every minute, a verdict; `crates/bench/src/soak.rs`).
    #[arg(long, default_value_t = 5000)]
    soak_clients: usize,
    /// Minutes the soak chats for.
    #[arg(long, default_value_t = 10)]
    soak_minutes: u64,
    /// Rooms the soak's clients are spread over.
    #[arg(long, default_value_t = 20)]
    soak_rooms: usize,
    /// Messages a second of the soak, all clients together.
    #[arg(long, default_value_t = 200.0)]
    soak_rate: f64,
    /// Churn events a second of the soak (reconnects and room moves, in turn).
    #[arg(long, default_value_t = 1.0)]
    soak_churn: f64,
    /// Run our server under this command, for profiling (e.g. `heaptrack`, or
    /// `valgrind --tool=massif`); its memory and CPU figures then describe the wrapper too.
    #[arg(long, value_delimiter = ' ', allow_hyphen_values = true)]
    wrap: Vec<String>,
    /// Measure nothing: print the table and redraw the plot of an earlier run's JSON (into
    /// `--out`).
    #[arg(long)]
    render: Option<PathBuf>,
    /// Where to write the results.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Node counts of the `cluster` measure (only when named in `--scenarios`: these many
    /// nodes on PostgreSQL + Redis, then one node alone on PostgreSQL and on SQLite; results
    /// in `cluster.{txt,json}`; `crates/bench/src/cluster.rs`).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 3])]
    cluster_nodes: Vec<usize>,
    /// Receivers of the `cluster` measure, spread evenly over the nodes.
    #[arg(long, default_value_t = 1000)]
    cluster_receivers: usize,
    /// The PostgreSQL server of the `cluster` measure, without a database (one of the run's
    /// own is created for each measure and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres_url: String,
    /// The Redis of the `cluster` measure (its channels are named after each database, so
    /// other users of this Redis do not disturb it).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Measure nothing: be the floor server (`floor.rs`) on this port of 127.0.0.1 (0: a
    /// free one) until stopped. The benchmark starts itself so for `--servers floor`.
    #[arg(long)]
    floor_server: Option<u16>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    if let Some(port) = options.floor_server {
        return match floor::serve(port).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("floor server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(json) = &options.render {
        return render(json, &options.out);
    }
    raise_file_limit();
    if options.scenarios.iter().any(|s| s == "cluster") {
        let written = run_cluster(&options).await;
        // The cluster alone: its own table and files, the last run's others stay as they are.
        if !written || options.scenarios.iter().all(|s| s == "cluster") {
            return if written { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
    }
    let scratch = std::env::temp_dir().join(format!("socket-chat-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        eprintln!("cannot create {}: {e}", scratch.display());
        return ExitCode::FAILURE;
    }
    if options.scenarios.iter().any(|s| s == "soak") {
        let passed = run_soak(&options, &scratch).await;
        // The soak alone: no table, and the last run's results stay as they are.
        if options.scenarios.iter().all(|s| s == "soak") {
            let _ = std::fs::remove_dir_all(&scratch);
            return if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
    }
    let mut report = Report {
        at: chrono_like_now(),
        machine: machine(),
        servers: Vec::new(),
        wasm_js_css: scenarios::bundle_size(&options.root.join("target/site/pkg")),
    };
    let kinds = [
        ("socket-chat", Kind::Ours),
        ("official", Kind::Official),
        ("bare", Kind::OfficialNoStore),
        ("floor", Kind::Floor),
    ];
    for (key, kind) in kinds {
        if !options.servers.iter().any(|s| s == key) {
            continue;
        }
        eprintln!("== {}", kind.name());
        let mut server_report = ServerReport { name: kind.name().into(), ..ServerReport::default() };
        // A fresh server per measure, so one cannot disturb the next.
        let wanted = |name: &str| options.scenarios.iter().any(|s| s == name);
        for &receivers in options.receivers.iter().filter(|_| wanted("fanout")) {
            match fresh(kind, &options, &scratch).await {
                Ok(server) => {
                    let steps = scenarios::fanout_ladder(&server, receivers, options.step_seconds).await;
                    server_report.fanout.extend(steps);
                    server.stop().await;
                }
                Err(e) => eprintln!("   {e}"),
            }
        }
        for &receivers in options.moderate.iter().filter(|_| wanted("moderate")) {
            if let Ok(server) = fresh(kind, &options, &scratch).await {
                match scenarios::fixed_rate(&server, receivers, options.moderate_rate, options.moderate_seconds).await {
                    Ok(step) => server_report.moderate.push(step),
                    Err(e) => eprintln!("   moderate {receivers}: {e}"),
                }
                server.stop().await;
            }
        }
        for &count in options.idle.iter().filter(|_| wanted("idle")) {
            if let Ok(server) = fresh(kind, &options, &scratch).await {
                match scenarios::idle_memory(&server, count).await {
                    Ok(kb) => server_report.idle_kb_per_connection.push((count, kb)),
                    Err(e) => eprintln!("   idle {count}: {e}"),
                }
                server.stop().await;
            }
        }
        if kind == Kind::Ours
            && wanted("slow")
            && let Ok(server) = fresh_with(kind, &options, &scratch, &["--max-queued-packets", "1024"]).await
        {
            if let Err(e) = scenarios::slow_readers(&server, 1000, 10, 20, options.slow_seconds).await {
                eprintln!("   slow readers: {e}");
            }
            server.stop().await;
        }
        // Neither stores: nothing to measure there.
        if !matches!(kind, Kind::OfficialNoStore | Kind::Floor) {
            if wanted("storage")
                && let Ok(server) = fresh(kind, &options, &scratch).await
            {
                match scenarios::storage(&server).await {
                    Ok(rate) => server_report.stored_per_s = Some(rate),
                    Err(e) => eprintln!("   storage: {e}"),
                }
                server.stop().await;
            }
            if wanted("catchup")
                && let Ok(server) = fresh(kind, &options, &scratch).await
            {
                match scenarios::catch_up(&server, 10_000).await {
                    Ok(ms) => server_report.catch_up_ms = Some(ms),
                    Err(e) => eprintln!("   catch-up: {e}"),
                }
                server.stop().await;
            }
        }
        report.servers.push(server_report);
    }
    if options.scenarios.iter().any(|s| s == "rival") {
        at_rival_rate(&mut report, &options, &scratch).await;
    }
    let _ = std::fs::remove_dir_all(&scratch);

    println!("\n{}", report.table());
    if let Err(e) = write(&options.out, &report) {
        eprintln!("cannot write the results: {e}");
        return ExitCode::FAILURE;
    }
    println!("results: {0}/latest.json, plot: {0}/latest.svg", options.out.display());
    ExitCode::SUCCESS
}

/// Prints and rewrites the results of an earlier run.
fn render(json: &std::path::Path, out: &std::path::Path) -> ExitCode {
    let report = std::fs::read_to_string(json)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<Report>(&text).map_err(|e| e.to_string()));
    match report {
        Ok(report) => {
            println!("{}", report.table());
            match write(out, &report) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("cannot write the results: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("cannot read {}: {e}", json.display());
            ExitCode::FAILURE
        }
    }
}

/// Ours again, at the official server's best fan-out rate of this run (one step per
/// receiver count): the latency a user of either server would see at that load.
async fn at_rival_rate(report: &mut Report, options: &Options, scratch: &std::path::Path) {
    let find = |name: &str| report.servers.iter().position(|s| s.name == name);
    let (Some(ours), Some(official)) = (find(Kind::Ours.name()), find(Kind::Official.name())) else { return };
    let rates: Vec<(usize, f64)> = options
        .receivers
        .iter()
        .filter_map(|&r| report.servers[official].best_fanout(r).map(|s| (r, s.sent_per_s)))
        .collect();
    if !rates.is_empty() {
        eprintln!("== {} at {}'s best rates", Kind::Ours.name(), Kind::Official.name());
    }
    for (receivers, rate) in rates {
        if let Ok(server) = fresh(Kind::Ours, options, scratch).await {
            match scenarios::fixed_rate(&server, receivers, rate, options.step_seconds).await {
                Ok(step) => report.servers[ours].at_rival_rate.push(step),
                Err(e) => eprintln!("   at {rate:.0} msg/s, {receivers} receivers: {e}"),
            }
            server.stop().await;
        }
    }
}

/// The soak (`soak.rs`) against our server with the soak's flags; whether it passed.
async fn run_soak(options: &Options, scratch: &std::path::Path) -> bool {
    let plan = soak::Plan {
        clients: options.soak_clients,
        minutes: options.soak_minutes,
        rooms: options.soak_rooms,
        rate: options.soak_rate,
        churn: options.soak_churn,
    };
    let flags = soak::server_flags(&plan);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = match Server::start_flags(Kind::Ours, &options.root, scratch, &options.wrap, &flags).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("soak: {e}");
            return false;
        }
    };
    let verdict = soak::run(&server, plan).await;
    server.stop().await;
    match verdict {
        Ok(verdict) => verdict.pass,
        Err(e) => {
            println!("FAIL: {e}");
            false
        }
    }
}

async fn fresh(kind: Kind, options: &Options, scratch: &std::path::Path) -> load::Result<Server> {
    Server::start(kind, &options.root, scratch, &options.wrap).await
}

/// [`fresh`], with these flags for ours instead of the measures' outgoing queue.
async fn fresh_with(kind: Kind, options: &Options, scratch: &std::path::Path, extra: &[&str]) -> load::Result<Server> {
    Server::start_with(kind, &options.root, scratch, &options.wrap, extra).await
}

fn write(out: &std::path::Path, report: &Report) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(out.join("latest.json"), json)?;
    std::fs::write(out.join("latest.svg"), report.svg())?;
    std::fs::write(out.join("latest.txt"), report.table())?;
    Ok(())
}

/// 10 000 idle connections need more file descriptors than the default soft limit.
fn raise_file_limit() {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else { return };
    let hard = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(hard) = hard {
        // `prlimit` is in util-linux, on every Debian; children (the servers) inherit it.
        let _ = std::process::Command::new("prlimit")
            .args(["--pid", &std::process::id().to_string(), &format!("--nofile={hard}:{hard}")])
            .status();
    }
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned()))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(String::new(), |kb| format!(", {:.0} GiB", kb as f64 / 1024.0 / 1024.0));
    format!("{cores} cores{memory}")
}

/// Seconds since the epoch, as text (no date library needed for a timestamp).
fn chrono_like_now() -> String {
    format!("{}", load::now_micros() / 1_000_000)
}

/// The `cluster` measure (`cluster.rs`): prints its table and writes `cluster.{txt,json}`;
/// whether the results were written.
async fn run_cluster(options: &Options) -> bool {
    let scratch = std::env::temp_dir().join(format!("socket-chat-bench-cluster-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        eprintln!("cannot create {}: {e}", scratch.display());
        return false;
    }
    let plan = cluster::Plan {
        nodes: options.cluster_nodes.clone(),
        receivers: options.cluster_receivers,
        rate: options.moderate_rate,
        seconds: options.moderate_seconds,
        step_seconds: options.step_seconds,
        postgres: options.postgres_url.clone(),
        redis: options.redis_url.clone(),
    };
    let report = cluster::run(&plan, &options.root, &scratch, machine(), chrono_like_now()).await;
    let _ = std::fs::remove_dir_all(&scratch);
    println!("\n{}", report.table());
    match cluster::write(&options.out, &report) {
        Ok(()) => {
            println!("results: {0}/cluster.txt, {0}/cluster.json", options.out.display());
            true
        }
        Err(e) => {
            eprintln!("cannot write the results: {e}");
            false
        }
    }
}
