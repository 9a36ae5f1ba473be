//! The soak: thousands of clients chatting for minutes while the server's memory and open
//! file descriptors are read every minute. A leak shows as a column that keeps rising; the
//! run ends with a one-line verdict ([`verdict`]).
//!
//! `--scenarios soak` (ours only, not part of the default run). Each client is one task with
//! its own [`RawWs`]: it joins one of `rooms` rooms, sends a message to it every
//! `clients / rate` seconds (the clients' phases spread evenly, so the server sees a steady
//! `rate`), checks that every ack it asked for arrives (and says `ok`), and counts the chat
//! messages it receives. A churn task asks `churn` clients a second, in turn, to come back
//! (a new connection with their last offset and room, as a page that reconnects does: the
//! server replays what they missed) or to move to another room (`room:leave`, `room:join`).
//! Before either, a client waits for its acks in flight, so churn never loses one.
//!
//! The server runs with every limit at its public default except connections per address
//! ([`server_flags`]): all the clients come from 127.0.0.1.

use std::collections::VecDeque;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use socket_chat_protocol::{HandshakeAuth, Target, events};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

use crate::histogram::Latencies;
use crate::load::{self, Result};
use crate::raw::RawWs;
use crate::servers::{Server, rss_kb};

/// What the soak does.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Clients connected for the whole run.
    pub clients: usize,
    /// Minutes of chat.
    pub minutes: u64,
    /// Rooms the clients are spread over.
    pub rooms: usize,
    /// Messages a second, all clients together.
    pub rate: f64,
    /// Churn events a second (reconnects and room moves, in turn).
    pub churn: f64,
}

/// The server's flags for a soak: connections per address raised above the clients (with
/// room for the churn's reconnects, whose old sockets may still be closing), since they all
/// come from one address. Every other limit stays at its public default (100 events a
/// second per socket, 2 500 per address, 1 024 queued packets per socket…): the soak's
/// aggregate rate is far below them.
pub fn server_flags(plan: &Plan) -> Vec<String> {
    vec!["--max-connections-per-ip".into(), (plan.clients + plan.clients / 10 + 100).to_string()]
}

/// Longest wait for an ack before it counts as lost.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// Clients connecting (and joining their room) at once.
const CONNECTING: usize = 100;
/// Attempts to open a connection before a client gives up.
const ATTEMPTS: u32 = 3;
/// Error acks printed (the rest are only counted).
const SHOWN_ERRORS: u64 = 5;

/// RSS may rise at most this much (a fraction) above the baseline minute's.
pub const RSS_GROWTH: f64 = 0.10;
/// Open descriptors beyond the connected clients may move this much from the baseline's.
pub const FD_SLACK: i64 = 32;
/// Minutes, at the end, whose RSS is compared with the baseline's.
pub const FLAT_WINDOW: usize = 5;
/// The baseline: the first minute after warm-up (the allocator's pools and the sockets'
/// buffers have grown by then).
pub const BASELINE_MINUTE: u64 = 2;

/// One minute of the run, as printed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Minute {
    /// Minutes since the chat started (0: all connected, before the chat).
    pub minute: u64,
    /// The server's resident memory, KB (VmRSS).
    pub rss_kb: u64,
    /// The server's open file descriptors.
    pub fds: usize,
    /// Clients connected when sampled.
    pub connected: usize,
    /// Messages sent in the minute.
    pub sent: u64,
    /// Acks that arrived in the minute, `ok` or not.
    pub acked: u64,
    /// Chat messages the clients received in the minute.
    pub delivered: u64,
    /// p99 ack latency of the minute's messages, ms.
    pub p99_ack_ms: f64,
    /// Reconnects in the minute.
    pub reconnects: u64,
    /// Room moves in the minute.
    pub moves: u64,
}

impl Minute {
    /// Descriptors beyond the connected clients' sockets: the listener, the database, the
    /// runtime's own (constant unless something leaks).
    pub fn fd_overhead(&self) -> i64 {
        self.fds as i64 - self.connected as i64
    }
}

/// What the whole run counted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Clients asked for.
    pub clients: usize,
    /// Clients still connected (and answering) at the end.
    pub connected_at_end: usize,
    /// Messages sent.
    pub sent: u64,
    /// Acks that said `ok`, of messages, joins and leaves.
    pub acked_ok: u64,
    /// Acks that said `error` (refused: rate-limited, invalid…).
    pub refused: u64,
    /// Acks that never came (within [`ACK_TIMEOUT`], or lost with a dropped connection).
    pub lost: u64,
    /// Connections that could not be opened.
    pub failed_connects: u64,
    /// Connections the server closed.
    pub dropped: u64,
}

/// The verdict: PASS or FAIL with the reasons, one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether the run passed.
    pub pass: bool,
    /// What was found (for PASS) or what failed.
    pub findings: Vec<String>,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", if self.pass { "PASS" } else { "FAIL" }, self.findings.join("; "))
    }
}

/// Judges a run. PASS when all of these hold:
/// - memory is flat: the RSS of each of the last [`FLAT_WINDOW`] minutes is at most
///   [`RSS_GROWTH`] above minute [`BASELINE_MINUTE`]'s (after warm-up; at least 3 minutes
///   of chat are needed to judge);
/// - descriptors are flat: every minute from the baseline on, open fds = connected clients
///   + the baseline's constant, within [`FD_SLACK`];
/// - no ack lost and none refused;
/// - every client connected at the end, no connection failed or dropped by the server.
pub fn verdict(minutes: &[Minute], totals: &Totals) -> Verdict {
    let mut failures = Vec::new();
    let mut found = Vec::new();
    let chat: Vec<&Minute> = minutes.iter().filter(|m| m.minute >= 1).collect();
    match chat.iter().position(|m| m.minute == BASELINE_MINUTE) {
        Some(at) if chat.len() >= 3 && at + 1 < chat.len() => {
            let base = chat[at];
            let after = &chat[at + 1..];
            let window = &after[after.len().saturating_sub(FLAT_WINDOW)..];
            let peak = window.iter().max_by_key(|m| m.rss_kb).expect("not empty");
            let growth = peak.rss_kb as f64 / base.rss_kb.max(1) as f64 - 1.0;
            let rss = format!(
                "RSS {:.1} MB at minute {}, at most {:.1} MB ({:+.1} %) in minutes {}-{}, limit +{:.0} %",
                mb(base.rss_kb),
                base.minute,
                mb(peak.rss_kb),
                growth * 100.0,
                window[0].minute,
                window[window.len() - 1].minute,
                RSS_GROWTH * 100.0
            );
            if growth > RSS_GROWTH {
                failures.push(format!("memory grew: {rss}"))
            } else {
                found.push(rss)
            }
            let constant = base.fd_overhead();
            let drift = chat[at..].iter().map(|m| m.fd_overhead() - constant).max_by_key(|d| d.abs()).unwrap_or(0);
            let fds = format!("open fds = clients + {constant} (drift {drift:+}, limit ±{FD_SLACK})");
            if drift.abs() > FD_SLACK { failures.push(format!("descriptors drifted: {fds}")) } else { found.push(fds) }
        }
        _ => failures.push(format!(
            "too short to judge: {} minute(s) of chat, at least {} needed",
            chat.len(),
            BASELINE_MINUTE + 1
        )),
    }
    let acks = format!(
        "{} messages sent, {} acks ok, {} refused, {} lost",
        totals.sent, totals.acked_ok, totals.refused, totals.lost
    );
    if totals.refused > 0 || totals.lost > 0 || totals.sent == 0 {
        failures.push(acks)
    } else {
        found.push(acks)
    }
    let clients = format!(
        "{} of {} clients connected at the end, {} connections failed, {} dropped by the server",
        totals.connected_at_end, totals.clients, totals.failed_connects, totals.dropped
    );
    if totals.connected_at_end < totals.clients || totals.failed_connects > 0 || totals.dropped > 0 {
        failures.push(clients)
    } else {
        found.push(clients)
    }
    match failures.is_empty() {
        true => Verdict { pass: true, findings: found },
        false => Verdict { pass: false, findings: failures },
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Counters every client adds to; the minute's are read and reset at each sample.
#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    acked: AtomicU64,
    acked_ok: AtomicU64,
    refused: AtomicU64,
    lost: AtomicU64,
    delivered: AtomicU64,
    reconnects: AtomicU64,
    moves: AtomicU64,
    failed_connects: AtomicU64,
    dropped: AtomicU64,
    /// Clients connected now.
    connected: AtomicUsize,
}

/// What the clients share.
struct Shared {
    port: u16,
    plan: Plan,
    counters: Counters,
    /// Ack latencies of chat messages since the last sample.
    latencies: Mutex<Latencies>,
}

/// A churn request.
#[derive(Debug, Clone, Copy)]
enum Churn {
    /// Close the connection and come back with the last offset and the room.
    Reconnect,
    /// Leave the room for another one.
    Move,
}

/// An ack asked for and not yet received.
struct Pending {
    id: u64,
    at: Instant,
    /// A chat message's (its latency is recorded), or a join's or leave's.
    chat: bool,
}

/// The name of room `n`.
fn room_name(n: usize) -> String {
    format!("soak-{n}")
}

/// The ack id and whether it says `ok`, if `frame` is an ack (`43<id>[{"status":"ok",…}]`).
fn ack_of(frame: &[u8]) -> Option<(u64, bool)> {
    let rest = frame.strip_prefix(b"43")?;
    let digits = rest.iter().position(|b| !b.is_ascii_digit()).unwrap_or(rest.len());
    if digits == 0 || digits > 19 {
        return None;
    }
    let id = rest[..digits].iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some((id, rest[digits..].starts_with(br#"[{"status":"ok""#)))
}

/// One client: its connection, its room, the last offset it saw, its acks in flight.
struct Client {
    index: usize,
    shared: Arc<Shared>,
    ws: RawWs,
    room: usize,
    last_offset: Option<i64>,
    next_id: u64,
    pending: VecDeque<Pending>,
    /// Its own generator, for room moves.
    rng: u64,
}

impl Client {
    /// Opens a connection, trying [`ATTEMPTS`] times.
    async fn open(shared: &Shared, auth: Option<&HandshakeAuth>) -> Result<RawWs> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            match RawWs::connect(shared.port, auth).await {
                Ok(ws) => return Ok(ws),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
        Err(last)
    }

    /// Queues an event with an ack: `42<id>[event, ...args]`.
    fn ask(&mut self, event: &str, args: Vec<Value>, chat: bool) {
        self.next_id += 1;
        self.ws.queue_text(event_frame(self.next_id, event, args).as_bytes());
        self.pending.push_back(Pending { id: self.next_id, at: Instant::now(), chat });
    }

    /// Queues a chat message to its room.
    fn send_chat(&mut self) {
        let key = format!("soak-{}-{}", self.index, self.next_id + 1);
        let target = serde_json::to_value(Target::room(room_name(self.room))).expect("serializable");
        self.ask(events::CHAT_MESSAGE, vec![format!("t{}", load::now_micros()).into(), key.into(), target], true);
        self.shared.counters.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Queues leaving its room and joining another.
    fn move_room(&mut self) {
        let rooms = self.shared.plan.rooms;
        if rooms < 2 {
            return;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let next = (self.room + 1 + (self.rng % (rooms as u64 - 1)) as usize) % rooms;
        self.ask(events::ROOM_LEAVE, vec![room_name(self.room).into()], false);
        self.ask(events::ROOM_JOIN, vec![room_name(next).into()], false);
        self.room = next;
        self.shared.counters.moves.fetch_add(1, Ordering::Relaxed);
    }

    /// Closes the connection and opens a new one with its last offset and room.
    async fn reconnect(&mut self) -> Result<()> {
        let auth =
            HandshakeAuth { server_offset: self.last_offset, rooms: vec![room_name(self.room)], session_id: None };
        // The old connection closes first, as a page's does when it reloads.
        self.ws = Self::open(&self.shared, Some(&auth)).await?;
        self.shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        self.take()
    }

    /// Handles every frame read so far: chat messages are counted (and their offset kept),
    /// acks matched, pings answered. `Err` once the server has closed.
    fn take(&mut self) -> Result<()> {
        let Client { ws, pending, shared, last_offset, .. } = self;
        let now = Instant::now();
        let (mut delivered, mut ping) = (0u64, false);
        let mut latencies: Vec<Duration> = Vec::new();
        let open = ws.messages(|frame| {
            if frame == b"2" {
                ping = true;
            } else if let Some((id, ok)) = ack_of(frame) {
                if let Some(at) = pending.iter().position(|p| p.id == id) {
                    let p = pending.remove(at).expect("found");
                    shared.counters.acked.fetch_add(1, Ordering::Relaxed);
                    if ok {
                        shared.counters.acked_ok.fetch_add(1, Ordering::Relaxed);
                        if p.chat {
                            latencies.push(now - p.at);
                        }
                    } else if shared.counters.refused.fetch_add(1, Ordering::Relaxed) < SHOWN_ERRORS {
                        let text = String::from_utf8_lossy(&frame[..frame.len().min(300)]);
                        eprintln!("   soak: an error ack: {text}");
                    }
                }
            } else if load::sent_at(frame).is_some() {
                delivered += 1;
                if let Some(offset) = load::server_offset(frame) {
                    *last_offset = Some(offset);
                }
            }
            ControlFlow::Continue(())
        })?;
        if ping {
            ws.queue_text(b"3");
        }
        if delivered > 0 {
            shared.counters.delivered.fetch_add(delivered, Ordering::Relaxed);
        }
        if !latencies.is_empty() {
            let mut all = shared.latencies.lock().unwrap_or_else(|e| e.into_inner());
            for latency in latencies {
                all.record(latency);
            }
        }
        if open { Ok(()) } else { Err("the server closed the connection".into()) }
    }

    /// Counts acks older than [`ACK_TIMEOUT`] as lost.
    fn expire(&mut self, now: Instant) {
        while self.pending.front().is_some_and(|p| now.duration_since(p.at) >= ACK_TIMEOUT) {
            self.pending.pop_front();
            self.shared.counters.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reads until no ack is in flight (or they expire).
    async fn settle(&mut self) -> Result<()> {
        while let Some(first) = self.pending.front() {
            let deadline = first.at + ACK_TIMEOUT;
            self.ws.flush().await?;
            tokio::select! {
                read = self.ws.fill() => {
                    if !read? {
                        return Err("the server closed the connection".into());
                    }
                    self.take()?;
                }
                () = tokio::time::sleep_until(deadline) => self.expire(Instant::now()),
            }
        }
        self.ws.flush().await
    }
}

/// A Socket.IO event asking for ack `id`: `42<id>["event",arg…]`.
fn event_frame(id: u64, event: &str, args: Vec<Value>) -> String {
    let mut array = Vec::with_capacity(args.len() + 1);
    array.push(Value::from(event));
    array.extend(args);
    format!("42{id}{}", Value::Array(array))
}

/// The signals the run sends every client.
struct Signals {
    /// When the chat starts (each client sends at its phase after it).
    start: watch::Receiver<Option<Instant>>,
    /// Set at the end: stop sending, wait for the acks in flight, hand the connection back.
    stop: watch::Receiver<bool>,
}

/// One client's life: connect and join (`gate` limits how many at once), then chat until
/// stopped. Returns its connection, still open, or `None` if it could not stay connected.
async fn client(
    index: usize,
    shared: Arc<Shared>,
    gate: Arc<Semaphore>,
    mut churn: mpsc::UnboundedReceiver<Churn>,
    mut signals: Signals,
) -> Option<RawWs> {
    let plan = shared.plan;
    let permit = gate.acquire_owned().await.ok()?;
    let ws = match Client::open(&shared, None).await {
        Ok(ws) => ws,
        Err(e) => {
            if shared.counters.failed_connects.fetch_add(1, Ordering::Relaxed) < SHOWN_ERRORS {
                eprintln!("   soak: client {index} cannot connect: {e}");
            }
            return None;
        }
    };
    let seed = 0x9E37_79B9_7F4A_7C15u64 ^ (index as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let mut c = Client {
        index,
        shared: shared.clone(),
        ws,
        room: index % plan.rooms,
        last_offset: None,
        next_id: 0,
        pending: VecDeque::new(),
        rng: seed | 1,
    };
    c.ask(events::ROOM_JOIN, vec![room_name(c.room).into()], false);
    let joined = async {
        c.take()?;
        c.settle().await
    }
    .await;
    drop(permit);
    if let Err(e) = joined {
        if shared.counters.failed_connects.fetch_add(1, Ordering::Relaxed) < SHOWN_ERRORS {
            eprintln!("   soak: client {index} cannot join its room: {e}");
        }
        return None;
    }
    shared.counters.connected.fetch_add(1, Ordering::Relaxed);

    let interval = Duration::from_secs_f64(plan.clients as f64 / plan.rate);
    let phase = interval.mul_f64(index as f64 / plan.clients as f64);
    let mut next_send = signals.start.borrow_and_update().map(|s| s + phase);
    let mut wanted: Option<Churn> = None;
    let mut stopping = *signals.stop.borrow_and_update();
    loop {
        // Churn and the end wait for the acks in flight.
        if c.pending.is_empty() {
            if stopping {
                return Some(c.ws);
            }
            match wanted.take() {
                Some(Churn::Reconnect) => {
                    shared.counters.connected.fetch_sub(1, Ordering::Relaxed);
                    if let Err(e) = c.reconnect().await {
                        if shared.counters.failed_connects.fetch_add(1, Ordering::Relaxed) < SHOWN_ERRORS {
                            eprintln!("   soak: client {index} cannot reconnect: {e}");
                        }
                        return None;
                    }
                    shared.counters.connected.fetch_add(1, Ordering::Relaxed);
                }
                Some(Churn::Move) => c.move_room(),
                None => {}
            }
        }
        // As a page does, nothing is sent to a room before its join is acknowledged (the
        // server handles a socket's events concurrently: a message right behind the join
        // could be refused `not_a_member`).
        let joining = c.pending.iter().any(|p| !p.chat);
        let sending = next_send.filter(|_| !stopping && wanted.is_none() && !joining);
        let expiry = c.pending.front().map(|p| p.at + ACK_TIMEOUT);
        let wake = match (sending, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let closed = async {
            c.ws.flush().await?;
            tokio::select! {
                read = c.ws.fill() => match read {
                    Ok(true) => c.take(),
                    Ok(false) => Err("the server closed the connection".into()),
                    Err(e) => Err(e),
                },
                () = async { tokio::time::sleep_until(wake.expect("guarded")).await }, if wake.is_some() => {
                    let now = Instant::now();
                    if let Some(at) = sending.filter(|at| *at <= now) {
                        c.send_chat();
                        next_send = Some(at + interval);
                    }
                    c.expire(now);
                    Ok(())
                }
                Some(what) = churn.recv(), if wanted.is_none() && !stopping => {
                    wanted = Some(what);
                    Ok(())
                }
                changed = signals.start.changed(), if next_send.is_none() => {
                    if changed.is_ok() {
                        next_send = signals.start.borrow().map(|s| s + phase);
                    }
                    Ok(())
                }
                _ = signals.stop.changed(), if !stopping => {
                    stopping = true;
                    Ok(())
                }
            }
        }
        .await;
        if let Err(e) = closed {
            // The server closed it: what was in flight is lost; come back as a client does.
            if shared.counters.dropped.fetch_add(1, Ordering::Relaxed) < SHOWN_ERRORS {
                eprintln!("   soak: client {index} lost its connection: {e}");
            }
            shared.counters.lost.fetch_add(c.pending.len() as u64, Ordering::Relaxed);
            c.pending.clear();
            shared.counters.connected.fetch_sub(1, Ordering::Relaxed);
            if c.reconnect().await.is_err() {
                return None;
            }
            shared.counters.connected.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The server's open file descriptors.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Reads the minute's counters (resetting them) and the server's memory and descriptors.
fn sample(shared: &Shared, pid: u32, minute: u64) -> Minute {
    let c = &shared.counters;
    let latencies = std::mem::take(&mut *shared.latencies.lock().unwrap_or_else(|e| e.into_inner()));
    let summary = latencies.summary();
    Minute {
        minute,
        rss_kb: rss_kb(pid).unwrap_or(0),
        fds: open_fds(pid),
        connected: c.connected.load(Ordering::Relaxed),
        sent: c.sent.swap(0, Ordering::Relaxed),
        acked: c.acked.swap(0, Ordering::Relaxed),
        delivered: c.delivered.swap(0, Ordering::Relaxed),
        p99_ack_ms: if summary.count > 0 { summary.p99_ms } else { f64::NAN },
        reconnects: c.reconnects.swap(0, Ordering::Relaxed),
        moves: c.moves.swap(0, Ordering::Relaxed),
    }
}

const HEADER: &str = "minute   RSS MB     fds  clients    sent   acked  delivered  p99 ack ms  reconnects  room moves";

fn line(label: &str, m: &Minute) -> String {
    format!(
        "{label:>6} {:>8.1} {:>7} {:>8} {:>7} {:>7} {:>10} {:>11.1} {:>11} {:>11}",
        mb(m.rss_kb),
        m.fds,
        m.connected,
        m.sent,
        m.acked,
        m.delivered,
        m.p99_ack_ms,
        m.reconnects,
        m.moves
    )
}

/// Runs the soak against `server` (started with [`server_flags`]) and prints as it goes;
/// returns the verdict.
pub async fn run(server: &Server, plan: Plan) -> Result<Verdict> {
    if plan.clients == 0 || plan.rooms == 0 || plan.rate <= 0.0 || plan.minutes == 0 {
        return Err("the soak needs clients, rooms, a rate and minutes above 0".into());
    }
    let (pid, port) = (server.pid, server.port);
    let shared =
        Arc::new(Shared { port, plan, counters: Counters::default(), latencies: Mutex::new(Latencies::default()) });
    println!(
        "soak: {} clients in {} rooms, {} messages/s in all (one every {:.1} s per client, with acks), {} churn events/s \
         (reconnects and room moves in turn), {} minutes",
        plan.clients,
        plan.rooms,
        plan.rate,
        plan.clients as f64 / plan.rate,
        plan.churn,
        plan.minutes
    );
    println!(
        "server: socket-chat (release, SQLite in a temp dir), flags {}; every other limit at its default",
        server_flags(&plan).join(" ")
    );
    let before = Minute { rss_kb: rss_kb(pid).unwrap_or(0), fds: open_fds(pid), ..Minute::default() };
    println!("before any client: RSS {:.1} MB, {} fds", mb(before.rss_kb), before.fds);

    let (start_tx, start_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(CONNECTING));
    let mut churners = Vec::with_capacity(plan.clients);
    let mut tasks = Vec::with_capacity(plan.clients);
    let connecting = Instant::now();
    for index in 0..plan.clients {
        let (tx, rx) = mpsc::unbounded_channel();
        churners.push(tx);
        let signals = Signals { start: start_rx.clone(), stop: stop_rx.clone() };
        tasks.push(tokio::spawn(client(index, shared.clone(), gate.clone(), rx, signals)));
    }
    // Everyone connected (or failed for good).
    loop {
        let c = &shared.counters;
        let settled = c.connected.load(Ordering::Relaxed) + c.failed_connects.load(Ordering::Relaxed) as usize;
        if settled >= plan.clients {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "connected and joined: {} clients in {:.1} s ({} failed)",
        shared.counters.connected.load(Ordering::Relaxed),
        connecting.elapsed().as_secs_f64(),
        shared.counters.failed_connects.load(Ordering::Relaxed)
    );
    // What the connecting counted (the joins' acks) is not the chat's.
    let _ = sample(&shared, pid, 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut minutes = vec![sample(&shared, pid, 0)];
    println!("{HEADER}");
    println!("{}", line("0", &minutes[0]));

    let begin = Instant::now();
    let _ = start_tx.send(Some(begin));
    let churn = (plan.churn > 0.0).then(|| {
        let every = Duration::from_secs_f64(1.0 / plan.churn);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut rng = 0x2545_F491_4F6C_DD1Du64;
            let mut tick = tokio::time::interval_at(begin + every, every);
            for n in 0u64.. {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let what = if n % 2 == 0 { Churn::Reconnect } else { Churn::Move };
                let _ = churners[(rng % churners.len() as u64) as usize].send(what);
            }
        })
    });
    for minute in 1..=plan.minutes {
        tokio::time::sleep_until(begin + Duration::from_secs(60 * minute)).await;
        let m = sample(&shared, pid, minute);
        println!("{}", line(&minute.to_string(), &m));
        minutes.push(m);
    }

    // The end: no more sends, the acks in flight arrive, every client hands its connection back.
    let _ = stop_tx.send(true);
    if let Some(churn) = churn {
        let _ = churn.await;
    }
    let mut open = Vec::with_capacity(plan.clients);
    for task in tasks {
        if let Ok(Some(ws)) = task.await {
            open.push(ws);
        }
    }
    let end = sample(&shared, pid, plan.minutes + 1);
    println!("{}", line("end", &end));
    let c = &shared.counters;
    let totals = Totals {
        clients: plan.clients,
        connected_at_end: open.len(),
        sent: minutes.iter().map(|m| m.sent).sum::<u64>() + end.sent,
        acked_ok: c.acked_ok.load(Ordering::Relaxed),
        refused: c.refused.load(Ordering::Relaxed),
        lost: c.lost.load(Ordering::Relaxed),
        failed_connects: c.failed_connects.load(Ordering::Relaxed),
        dropped: c.dropped.load(Ordering::Relaxed),
    };
    let delivered: u64 = minutes.iter().map(|m| m.delivered).sum::<u64>() + end.delivered;
    println!(
        "totals: {} messages sent, {} acks ok (messages, joins and leaves), {} refused, {} lost; {delivered} deliveries \
         ({:.0} per message)",
        totals.sent,
        totals.acked_ok,
        totals.refused,
        totals.lost,
        delivered as f64 / totals.sent.max(1) as f64
    );
    drop(open);
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "5 s after every client left: RSS {:.1} MB, {} fds (before any client: {:.1} MB, {} fds)",
        mb(rss_kb(pid).unwrap_or(0)),
        open_fds(pid),
        mb(before.rss_kb),
        before.fds
    );
    let verdict = verdict(&minutes, &totals);
    println!("{verdict}");
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minutes 0..=n with these RSS values (MB) and `clients + overhead` descriptors.
    fn series(rss_mb: &[u64], overhead: &[i64], clients: usize) -> Vec<Minute> {
        rss_mb
            .iter()
            .zip(overhead)
            .enumerate()
            .map(|(i, (&rss, &extra))| Minute {
                minute: i as u64,
                rss_kb: rss * 1024,
                fds: (clients as i64 + extra) as usize,
                connected: clients,
                sent: 12_000,
                acked: 12_000,
                ..Minute::default()
            })
            .collect()
    }

    fn clean(clients: usize) -> Totals {
        Totals { clients, connected_at_end: clients, sent: 120_000, acked_ok: 125_000, ..Totals::default() }
    }

    #[test]
    fn a_flat_run_passes() {
        // Minute 0 and 1 are warm-up: growing there is allowed.
        let minutes = series(&[60, 150, 200, 205, 198, 210, 207, 215, 209, 212, 214], &[20; 11], 5000);
        let v = verdict(&minutes, &clean(5000));
        assert!(v.pass, "{v}");
        assert!(v.to_string().starts_with("PASS: RSS 200.0 MB at minute 2, at most 215.0 MB (+7.5 %)"), "{v}");
        assert!(v.to_string().contains("open fds = clients + 20 (drift +0"), "{v}");
    }

    #[test]
    fn memory_that_keeps_growing_fails() {
        // +4 % a minute: within 10 % at first, past it by the end.
        let rss = [60, 150, 200, 208, 216, 224, 232, 240, 248, 256, 264];
        let v = verdict(&series(&rss, &[20; 11], 5000), &clean(5000));
        assert!(!v.pass, "{v}");
        assert!(
            v.to_string().starts_with("FAIL: memory grew: RSS 200.0 MB at minute 2, at most 264.0 MB (+32.0 %)"),
            "{v}"
        );
    }

    #[test]
    fn one_spike_in_the_last_minutes_fails_and_one_before_them_does_not() {
        let mut rss = [60, 150, 200, 200, 200, 200, 200, 200, 200, 200, 200];
        rss[9] = 230;
        assert!(!verdict(&series(&rss, &[20; 11], 10), &clean(10)).pass);
        let mut rss = [60, 150, 200, 200, 200, 200, 200, 200, 200, 200, 200];
        rss[4] = 230; // outside the last 5 minutes
        assert!(verdict(&series(&rss, &[20; 11], 10), &clean(10)).pass);
    }

    #[test]
    fn leaking_descriptors_fail_and_churn_jitter_does_not() {
        let rss = [60, 150, 200, 200, 200, 200, 200, 200, 200, 200, 200];
        // A few sockets closing at the moment of the sample.
        let jitter = [3, 20, 21, 19, 25, 20, 22, 18, 20, 23, 20];
        assert!(verdict(&series(&rss, &jitter, 5000), &clean(5000)).pass);
        // 10 descriptors more every minute: a leak.
        let leak: Vec<i64> = (0..11).map(|m| 20 + 10 * m).collect();
        let v = verdict(&series(&rss, &leak, 5000), &clean(5000));
        assert!(!v.pass);
        assert!(v.to_string().contains("descriptors drifted: open fds = clients + 40 (drift +80"), "{v}");
    }

    #[test]
    fn lost_or_refused_acks_and_missing_clients_fail() {
        let minutes = series(&[60, 150, 200, 200, 200, 200], &[20; 6], 100);
        let lost = Totals { lost: 1, ..clean(100) };
        let v = verdict(&minutes, &lost);
        assert!(!v.pass);
        assert!(v.to_string().contains("1 lost"), "{v}");
        assert!(!verdict(&minutes, &Totals { refused: 3, ..clean(100) }).pass);
        assert!(!verdict(&minutes, &Totals { connected_at_end: 99, ..clean(100) }).pass);
        assert!(!verdict(&minutes, &Totals { dropped: 1, ..clean(100) }).pass);
        assert!(!verdict(&minutes, &Totals { failed_connects: 1, ..clean(100) }).pass);
        assert!(!verdict(&minutes, &Totals { sent: 0, ..clean(100) }).pass, "nothing sent proves nothing");
        assert!(verdict(&minutes, &clean(100)).pass);
    }

    #[test]
    fn a_run_too_short_to_judge_fails() {
        let v = verdict(&series(&[60, 150, 200], &[20; 3], 10), &clean(10));
        assert!(!v.pass);
        assert!(v.to_string().contains("too short to judge: 2 minute(s) of chat"), "{v}");
        // Three minutes: minute 2 is the baseline, minute 3 the window.
        assert!(verdict(&series(&[60, 150, 200, 205], &[20; 4], 10), &clean(10)).pass);
        assert!(!verdict(&[], &clean(10)).pass);
    }

    #[test]
    fn acks_and_arguments_are_read_and_written_as_on_the_wire() {
        assert_eq!(ack_of(br#"4317[{"status":"ok","data":{}}]"#), Some((17, true)));
        assert_eq!(ack_of(br#"432[{"status":"error","error":{"code":"rate_limited"}}]"#), Some((2, false)));
        assert_eq!(ack_of(br#"42["chat message","t1",3]"#), None);
        assert_eq!(ack_of(b"43[]"), None);
        assert_eq!(event_frame(5, events::ROOM_JOIN, vec!["soak-1".into()]), r#"425["room:join","soak-1"]"#);
        let target = serde_json::to_value(Target::room("soak-1")).unwrap();
        assert_eq!(
            event_frame(6, events::CHAT_MESSAGE, vec!["t1".into(), "k".into(), target]),
            r#"426["chat message","t1","k",{"to":"soak-1"}]"#
        );
    }
}
