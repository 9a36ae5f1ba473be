//! The measures, each against a fresh server.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use socket_chat::bench::histogram::Latencies;
use socket_chat::bench::pacing::Pacer;
use socket_chat::bench::report::FanoutStep;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::load::{self, Result, Tally, Ws};
use crate::raw::RawWs;
use crate::servers::{Server, cpu_seconds, rss_kb};

/// Connections opened at once.
const CONNECTING: usize = 100;
/// Time after a step's last send for its messages to arrive.
const SETTLE: Duration = Duration::from_millis(1000);

/// Opens `count` receivers' sockets, `CONNECTING` at a time.
async fn connect_many(port: u16, count: usize) -> Result<Vec<RawWs>> {
    futures_util::stream::iter(0..count)
        .map(|_| RawWs::connect(port, ""))
        .buffer_unordered(CONNECTING)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// One sender, `receivers` receivers; the rate grows by half each step until p99 passes
/// 100 ms or deliveries fall behind.
pub async fn fanout_ladder(server: &Server, receivers: usize, seconds: f64) -> Vec<FanoutStep> {
    let mut steps = Vec::new();
    let sockets = match connect_many(server.port, receivers).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("   fan-out {receivers}: {e}");
            return steps;
        }
    };
    // Step 0 from the start: a receiver counts whatever it reads, however late it starts.
    let (step_tx, step_rx) = watch::channel(Some(0));
    let (tally_tx, mut tallies) = mpsc::unbounded_channel();
    for ws in sockets {
        tokio::spawn(load::receive(ws, step_rx.clone(), tally_tx.clone()));
    }
    let sender = match load::connect(server.port, "").await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("   fan-out {receivers}: sender: {e}");
            return steps;
        }
    };
    let (mut sink, stream) = sender.split();
    let (pong_tx, mut pongs) = mpsc::unbounded_channel();
    let reader = tokio::spawn(load::drain(stream, pong_tx));

    // 200 deliveries/ms to start, whatever the receiver count.
    let mut rate = 20_000.0 / receivers as f64;
    let mut ack = 0u64;
    // Each change of the step closes the previous one.
    for step in 0..14u64 {
        let (server_cpu, own_cpu) = (cpu_seconds(Some(server.pid)), cpu_seconds(None));
        let pacer = Pacer::new(Instant::now(), rate);
        let end = Instant::now() + Duration::from_secs_f64(seconds);
        let mut sent = 0u64;
        while Instant::now() < end {
            let due = pacer.due(Instant::now());
            while sent < due {
                ack += 1;
                if sink.feed(load::chat_frame(ack, &format!("b-{ack}"))).await.is_err() {
                    break;
                }
                sent += 1;
            }
            while pongs.try_recv().is_ok() {
                let _ = sink.feed(Message::text("3")).await;
            }
            let _ = sink.flush().await;
            tokio::time::sleep_until(pacer.at(sent).into()).await;
        }
        tokio::time::sleep(SETTLE).await;
        let server_cpu_s = cpu_seconds(Some(server.pid)) - server_cpu;
        let loadgen_cpu_s = cpu_seconds(None) - own_cpu;
        let _ = step_tx.send(Some(step + 1));
        let mut received = 0u64;
        let mut latencies = Latencies::default();
        for _ in 0..receivers {
            let Some(Tally { received: r, latencies: l, .. }) = tallies.recv().await else { break };
            received += r;
            latencies.merge(&l);
        }
        let expected = (sent * receivers as u64).max(1);
        let result = FanoutStep {
            receivers,
            sent_per_s: sent as f64 / seconds,
            delivered_per_s: received as f64 / seconds,
            delivered_ratio: received as f64 / expected as f64,
            latency: latencies.summary(),
            server_cpu_s,
            loadgen_cpu_s,
        };
        eprintln!(
            "   fan-out {receivers:>5}: {:>8.0} deliveries/s ({:.1}% delivered), p50 {:>6.1} ms, p99 {:>7.1} ms, max {:>7.1} ms, cpu server {:.1} s / load {:.1} s",
            result.delivered_per_s,
            result.delivered_ratio * 100.0,
            result.latency.p50_ms,
            result.latency.p99_ms,
            result.latency.max_ms,
            server_cpu_s,
            loadgen_cpu_s
        );
        let holds = result.holds();
        steps.push(result);
        if !holds {
            break;
        }
        rate *= 1.5;
    }
    let _ = step_tx.send(None);
    let _ = sink.close().await;
    reader.abort();
    steps
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

/// Sends `count` messages with acks, keeping up to `window` in flight; returns when all are
/// acknowledged. The socket's own broadcasts are read and dropped.
async fn send_acked(ws: Ws, prefix: String, count: u64, window: usize) -> Result<()> {
    let (mut sink, mut stream) = ws.split();
    let credits = Arc::new(Semaphore::new(window));
    let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
    let reader_credits = credits.clone();
    let reader = tokio::spawn(async move {
        let mut acks = 0u64;
        let mut pongs = 0u64;
        while let Some(Ok(frame)) = stream.next().await {
            if let Message::Text(t) = frame {
                if t.starts_with("43") {
                    acks += 1;
                    reader_credits.add_permits(1);
                    if acks == count {
                        break;
                    }
                } else if t.as_str() == "2" {
                    pongs += 1;
                    let _ = done_tx.send(());
                }
            }
        }
        (acks, pongs)
    });
    for n in 1..=count {
        credits.acquire().await.map_err(|e| e.to_string())?.forget();
        sink.send(load::chat_frame(n, &format!("{prefix}-{n}"))).await.map_err(|e| e.to_string())?;
        while done.try_recv().is_ok() {
            sink.send(Message::text("3")).await.map_err(|e| e.to_string())?;
        }
    }
    let (acks, _) = reader.await.map_err(|e| e.to_string())?;
    if acks < count {
        return Err(format!("{acks} of {count} acknowledged"));
    }
    Ok(())
}

/// Messages stored and acknowledged per second: 10 clients, 500 messages each, up to 32 in
/// flight per client.
pub async fn storage(server: &Server) -> Result<f64> {
    let (clients, per_client) = (10u64, 500u64);
    let mut sockets = Vec::new();
    for _ in 0..clients {
        sockets.push(load::connect(server.port, "").await?);
    }
    let started = Instant::now();
    let sends: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(send_acked(ws, format!("s{i}"), per_client, 32)))
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
    let mut reader = load::connect(server.port, "").await?;
    let writer = load::connect(server.port, "").await?;
    send_acked(writer, "first".into(), 1, 1).await?;
    let mut offset = None;
    while offset.is_none() {
        match reader.next().await {
            Some(Ok(Message::Text(t))) => offset = load::server_offset(&t),
            Some(_) => {}
            None => return Err("closed".into()),
        }
    }
    let offset = offset.unwrap_or(0);
    drop(reader);
    let writer = load::connect(server.port, "").await?;
    send_acked(writer, "missed".into(), missed, 100).await?;

    let started = Instant::now();
    let mut back = load::connect(server.port, &format!(r#"{{"serverOffset":{offset}}}"#)).await?;
    let mut received = 0;
    while received < missed {
        match tokio::time::timeout(Duration::from_secs(30), back.next()).await {
            Ok(Some(Ok(Message::Text(t)))) if t.starts_with(r#"42["chat message""#) => received += 1,
            Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "2" => {
                let _ = back.send(Message::text("3")).await;
            }
            Ok(Some(Ok(_))) => {}
            _ => return Err(format!("caught up {received} of {missed}")),
        }
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    eprintln!("   catch-up: {missed} missed messages in {ms:.0} ms");
    Ok(ms)
}

/// The release WASM, JS and CSS in `pkg`: (raw bytes, gzip bytes).
pub fn bundle_size(pkg: &Path) -> Option<(u64, u64)> {
    let mut raw = 0;
    let mut gzip = 0;
    for entry in std::fs::read_dir(pkg).ok()?.flatten() {
        let path = entry.path();
        if !matches!(path.extension().and_then(|e| e.to_str()), Some("wasm" | "js" | "css")) {
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
