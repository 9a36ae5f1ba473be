//! The measures, each against a fresh server.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::histogram::Latencies;
use crate::pacing::Pacer;
use crate::report::FanoutStep;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use socket_chat_protocol::HandshakeAuth;

use crate::load::{self, Result, Tally};
use crate::raw::RawWs;
use crate::servers::{Server, cpu_seconds, rss_kb};

/// Connections opened at once.
const CONNECTING: usize = 100;
/// Time after a step's last send for its messages to arrive.
const SETTLE: Duration = Duration::from_millis(1000);

/// Opens `count` receivers' sockets, `CONNECTING` at a time.
async fn connect_many(port: u16, count: usize) -> Result<Vec<RawWs>> {
    futures_util::stream::iter(0..count)
        .map(|_| RawWs::connect(port, None))
        .buffer_unordered(CONNECTING)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// One sender and `receivers` receivers in the server's room, ready to run steps.
pub struct Room {
    receivers: usize,
    sender: RawWs,
    /// Each change closes the receivers' tallies of the previous step.
    step_tx: watch::Sender<Option<u64>>,
    tallies: mpsc::UnboundedReceiver<Tally>,
    step: u64,
    ack: u64,
    /// The server processes whose CPU a step counts (several nodes of a cluster: the sum).
    pids: Vec<u32>,
}

impl Room {
    /// Connects the receivers (counting from step 0 however late each starts) and the sender.
    pub async fn open(server: &Server, receivers: usize) -> Result<Self> {
        Self::open_on(&[server.port], vec![server.pid], receivers).await
    }

    /// [`Room::open`] across several servers (the nodes of a cluster): the receivers spread
    /// evenly over `ports` in turn, the sender on the first; a step counts the CPU of every
    /// process in `pids`.
    pub async fn open_on(ports: &[u16], pids: Vec<u32>, receivers: usize) -> Result<Self> {
        let first = *ports.first().ok_or("no server to connect to")?;
        let sockets = futures_util::stream::iter(0..receivers)
            .map(|i| RawWs::connect(ports[i % ports.len()], None))
            .buffer_unordered(CONNECTING)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        let (step_tx, step_rx) = watch::channel(Some(0));
        let (tally_tx, tallies) = mpsc::unbounded_channel();
        for ws in sockets {
            tokio::spawn(load::receive(ws, step_rx.clone(), tally_tx.clone()));
        }
        let sender = RawWs::connect(first, None).await.map_err(|e| format!("sender: {e}"))?;
        Ok(Self { receivers, sender, step_tx, tallies, step: 0, ack: 0, pids })
    }

    /// CPU seconds the server processes have used so far.
    fn server_cpu(&self) -> f64 {
        self.pids.iter().map(|&pid| cpu_seconds(Some(pid))).sum()
    }

    /// Sends at `rate` messages/s for `seconds`, waits for the last ones to arrive, and
    /// returns what the receivers got and the CPU the server and this process used.
    pub async fn step(&mut self, rate: f64, seconds: f64) -> Result<FanoutStep> {
        let (server_cpu, own_cpu) = (self.server_cpu(), cpu_seconds(None));
        let pacer = Pacer::new(Instant::now(), rate);
        let end = Instant::now() + Duration::from_secs_f64(seconds);
        let mut sent = 0u64;
        while Instant::now() < end {
            let due = pacer.due(Instant::now());
            while sent < due {
                self.ack += 1;
                self.sender.queue_text(load::chat_frame(self.ack, &format!("b-{}", self.ack)).as_bytes());
                sent += 1;
            }
            // Until the next one is due, read the acks and the sender's own broadcasts.
            self.sender.flush().await?;
            load::read_until(&mut self.sender, pacer.at(sent).into()).await?;
        }
        // Keep reading while the step's last messages arrive, so the sender never backs up.
        let _ = load::read_until(&mut self.sender, (Instant::now() + SETTLE).into()).await;
        let server_cpu_s = self.server_cpu() - server_cpu;
        let loadgen_cpu_s = cpu_seconds(None) - own_cpu;
        self.step += 1;
        let _ = self.step_tx.send(Some(self.step));
        let mut received = 0u64;
        let mut latencies = Latencies::default();
        for _ in 0..self.receivers {
            let Some(Tally { received: r, latencies: l, .. }) = self.tallies.recv().await else { break };
            received += r;
            latencies.merge(&l);
        }
        let expected = (sent * self.receivers as u64).max(1);
        Ok(FanoutStep {
            receivers: self.receivers,
            sent_per_s: sent as f64 / seconds,
            delivered_per_s: received as f64 / seconds,
            delivered_ratio: received as f64 / expected as f64,
            latency: latencies.summary(),
            server_cpu_s,
            loadgen_cpu_s,
            seconds,
        })
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        // The receivers stop.
        let _ = self.step_tx.send(None);
    }
}

pub fn log_step(what: &str, step: &FanoutStep) {
    eprintln!(
        "   {what} {:>5}: {:>8.0} deliveries/s ({:.1}% delivered), p50 {:>6.1} ms, p99 {:>7.1} ms, max {:>7.1} ms, cpu server {:.2} s / load {:.2} s ({:.2} µs server CPU per delivery)",
        step.receivers,
        step.delivered_per_s,
        step.delivered_ratio * 100.0,
        step.latency.p50_ms,
        step.latency.p99_ms,
        step.latency.max_ms,
        step.server_cpu_s,
        step.loadgen_cpu_s,
        step.server_cpu_us_per_delivery().unwrap_or(f64::NAN),
    );
}

/// One sender, `receivers` receivers; the rate grows by half each step until p99 passes
/// 100 ms or deliveries fall behind.
pub async fn fanout_ladder(server: &Server, receivers: usize, seconds: f64) -> Vec<FanoutStep> {
    match Room::open(server, receivers).await {
        Ok(mut room) => ladder(&mut room, seconds, |_| {}).await,
        Err(e) => {
            eprintln!("   fan-out {receivers}: {e}");
            Vec::new()
        }
    }
}

/// The ladder of [`fanout_ladder`] in a room already open; `after_step` sees each step as it
/// ends, warm-up included (the cluster measure reads Redis' CPU there).
pub async fn ladder(room: &mut Room, seconds: f64, mut after_step: impl FnMut(&FanoutStep)) -> Vec<FanoutStep> {
    let receivers = room.receivers;
    let mut steps = Vec::new();
    // 200 deliveries/ms to start, whatever the receiver count.
    let mut rate = 20_000.0 / receivers as f64;
    // Step 0 warms up (first sends to each socket, caches) at the first rate and is only
    // logged: a slow first step must not end the ladder before it starts.
    for step in 0..15u64 {
        let result = match room.step(rate, seconds).await {
            Ok(result) => result,
            Err(e) => {
                eprintln!("   fan-out {receivers}: sender: {e}");
                break;
            }
        };
        log_step(if step == 0 { "warm-up" } else { "fan-out" }, &result);
        after_step(&result);
        if step == 0 {
            continue;
        }
        let holds = result.holds();
        steps.push(result);
        if !holds {
            break;
        }
        rate *= 1.5;
    }
    steps
}

/// Messages per second of the moderate load: a busy room, far from saturation, where most
/// servers live.
pub const MODERATE_RATE: f64 = 50.0;

/// `receivers` receivers, `rate` messages a second for `seconds` after a short warm-up: the
/// server's CPU per delivery (and the latency) at that rate.
pub async fn fixed_rate(server: &Server, receivers: usize, rate: f64, seconds: f64) -> Result<FanoutStep> {
    let mut room = Room::open(server, receivers).await?;
    let warm = room.step(rate, 1.0).await?;
    log_step("warm-up", &warm);
    let step = room.step(rate, seconds).await?;
    log_step(&format!("{rate:.0} msg/s"), &step);
    Ok(step)
}

/// Resident memory per idle connection, in KB.
pub async fn idle_memory(server: &Server, count: usize) -> Result<f64> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kb(server.pid).ok_or("no RSS")?;
    let sockets = connect_many(server.port, count).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kb(server.pid).ok_or("no RSS")?;
    drop(sockets);
    let per = after.saturating_sub(before) as f64 / count as f64;
    eprintln!("   idle {count:>6}: {before} KB before, {after} KB after: {per:.1} KB per connection");
    Ok(per)
}

/// Messages stored and acknowledged per second: 10 clients, 500 messages each, up to 32 in
/// flight per client. Also logs the server's CPU during it: with 320 messages in flight the
/// rate is 320 over the round trip of one, and the CPU says whether that round trip is spent
/// working or waiting (for a thread to be scheduled, for the load generator).
pub async fn storage(server: &Server) -> Result<f64> {
    let (cpu, own, started) = (cpu_seconds(Some(server.pid)), cpu_seconds(None), Instant::now());
    let rate = storage_on(&[server.port]).await?;
    let (cpu, own) = (cpu_seconds(Some(server.pid)) - cpu, cpu_seconds(None) - own);
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "   storage: server CPU {cpu:.2} s in {wall:.2} s ({:.0} µs per message stored, {:.0} % of one core); \
         load generator {own:.2} s",
        cpu * 1e6 / (rate * wall).max(1.0),
        cpu / wall * 100.0
    );
    Ok(rate)
}

/// [`storage`] with the clients spread over several servers (the nodes of a cluster).
pub async fn storage_on(ports: &[u16]) -> Result<f64> {
    if ports.is_empty() {
        return Err("no server to store on".into());
    }
    let (clients, per_client) = (10u64, 500u64);
    let sockets: Vec<RawWs> =
        futures_util::future::join_all((0..clients as usize).map(|i| RawWs::connect(ports[i % ports.len()], None)))
            .await
            .into_iter()
            .collect::<Result<_>>()?;
    let started = Instant::now();
    let sends: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            tokio::spawn(async move { load::send_acked(&mut ws, &format!("s{i}"), per_client, 32).await })
        })
        .collect();
    for send in sends {
        send.await.map_err(|e| e.to_string())??;
    }
    let rate = (clients * per_client) as f64 / started.elapsed().as_secs_f64();
    eprintln!("   storage: {rate:.0} messages/s stored and acknowledged");
    Ok(rate)
}

/// Milliseconds for a client back after `missed` messages to have them all (from its new
/// connection to the last message).
pub async fn catch_up(server: &Server, missed: u64) -> Result<f64> {
    // Learn the latest offset, as a client would have it.
    let mut reader = RawWs::connect(server.port, None).await?;
    let mut writer = RawWs::connect(server.port, None).await?;
    load::send_acked(&mut writer, "first", 1, 1).await?;
    let mut offset = None;
    while offset.is_none() {
        load::take_next(&mut reader, |frame| offset = offset.or_else(|| load::server_offset(frame))).await?;
    }
    let offset = offset.unwrap_or(0);
    drop(reader);
    load::send_acked(&mut writer, "missed", missed, 100).await?;

    let started = Instant::now();
    let mut back =
        RawWs::connect(server.port, Some(&HandshakeAuth { server_offset: Some(offset), ..HandshakeAuth::default() }))
            .await?;
    let is_chat = |frame: &[u8]| u64::from(load::sent_at(frame).is_some());
    let mut received = 0;
    // What came with the CONNECT is already read.
    load::take(&mut back, |frame| received += is_chat(frame)).await?;
    while received < missed {
        load::take_next(&mut back, |frame| received += is_chat(frame))
            .await
            .map_err(|e| format!("caught up {received} of {missed}: {e}"))?;
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    eprintln!("   catch-up: {missed} missed messages in {ms:.0} ms");
    Ok(ms)
}

/// The release WASM, JS and CSS that the chat page (`/`) loads from `pkg`: (raw bytes, gzip
/// bytes). Split chunks (`split_*`, loaded by other pages only) are not counted; the split
/// loader (`__wasm_split.*.js`) is, as `scripts/page-size.sh` counts them.
pub fn bundle_size(pkg: &Path) -> Option<(u64, u64)> {
    let mut raw = 0;
    let mut gzip = 0;
    for entry in std::fs::read_dir(pkg).ok()?.flatten() {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let loaded_by_chat = name.starts_with("socket-chat.") || name.starts_with("__wasm_split.");
        if !loaded_by_chat || !matches!(path.extension().and_then(|e| e.to_str()), Some("wasm" | "js" | "css")) {
            continue;
        }
        let bytes = std::fs::read(&path).ok()?;
        raw += bytes.len() as u64;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&bytes).ok()?;
        gzip += encoder.finish().ok()?.len() as u64;
    }
    Some((raw, gzip))
}

/// Slow readers: `mute` sockets that never read while `chatters` sockets chat (each sending
/// acknowledged messages at `rate` a second) for `seconds`, and one receiver that reads
/// everything. Prints the server's RSS every 5 s, how many messages the receiver got, and
/// how many mute sockets the server still holds at the end; returns the RSS samples (KB).
pub async fn slow_readers(server: &Server, mute: usize, chatters: usize, rate: u64, seconds: u64) -> Result<Vec<u64>> {
    let before = rss_kb(server.pid).ok_or("no RSS")?;
    let mut mutes = connect_many(server.port, mute).await?;
    let mut receiver = RawWs::connect(server.port, None).await?;
    eprintln!("   slow readers: {mute} sockets that never read, {chatters} chatting at {rate}/s each, for {seconds} s");
    eprintln!("   RSS {before} KB before, {} KB with the mute sockets open", rss_kb(server.pid).unwrap_or(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let chatting: Vec<_> = (0..chatters)
        .map(|i| {
            let port = server.port;
            tokio::spawn(async move {
                let mut ws = RawWs::connect(port, None).await?;
                let mut batch = 0u64;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    load::send_acked(&mut ws, &format!("slow-{i}-{batch}"), rate, rate).await?;
                    batch += 1;
                    tokio::time::sleep(Duration::from_secs(1).saturating_sub(started.elapsed())).await;
                }
                Ok::<u64, String>(batch * rate)
            })
        })
        .collect();
    let mut samples = Vec::new();
    let mut received = 0u64;
    let mut next_sample = Instant::now();
    while Instant::now() < deadline {
        if Instant::now() >= next_sample {
            let rss = rss_kb(server.pid).ok_or("no RSS")?;
            eprintln!(
                "   t={:>3} s  RSS {rss:>7} KB  receiver has {received} messages",
                seconds - deadline.saturating_duration_since(Instant::now()).as_secs()
            );
            samples.push(rss);
            next_sample += Duration::from_secs(5);
        }
        let until = (Instant::now() + Duration::from_millis(200)).min(deadline);
        received += count_chat_until(&mut receiver, until).await?;
    }
    let mut sent = 0;
    for chat in chatting {
        sent += chat.await.map_err(|e| e.to_string())??;
    }
    // What the receiver still had on its way.
    received += count_chat_until(&mut receiver, Instant::now() + SETTLE).await?;
    // Which mute sockets the server still holds: a closed one reads to its end (through
    // what the kernel still buffers for it), an open one does not end.
    let still_open = futures_util::future::join_all(mutes.iter_mut().map(|ws| async move {
        tokio::time::timeout(Duration::from_secs(3), async {
            while let Ok(true) = ws.fill().await {
                let _ = ws.messages(|_| std::ops::ControlFlow::Continue(()));
            }
        })
        .await
        .is_err()
    }))
    .await;
    let open = still_open.iter().filter(|&&open| open).count();
    // Memory once every mute socket's queue is full (after the first quarter) to the end.
    let settled = samples.get(samples.len() / 4).copied().unwrap_or(0);
    let last = samples.last().copied().unwrap_or(0);
    let (low, high) = (samples.iter().min().copied().unwrap_or(0), samples.iter().max().copied().unwrap_or(0));
    let growth = last as i64 - settled as i64;
    eprintln!(
        "   slow readers: {sent} sent, the reading receiver got {received}; {open} of {mute} mute sockets still open; \
         RSS {low}..{high} KB, {growth:+} KB from the first quarter to the end: {}",
        if received >= sent && growth < 5_000 { "memory flat, nobody else affected" } else { "CHECK" }
    );
    Ok(samples)
}

/// Reads until `deadline`, answering pings; returns the chat messages read.
async fn count_chat_until(ws: &mut RawWs, deadline: Instant) -> Result<u64> {
    let mut chat = 0;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline.into()) => return Ok(chat),
            read = ws.fill() => {
                if !read? {
                    return Err("the server closed the receiver's connection".into());
                }
                load::take(ws, |frame| chat += u64::from(load::sent_at(frame).is_some())).await?;
            }
        }
    }
}
