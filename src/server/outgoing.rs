//! Every event and every ack the server sends goes through here.
//!
//! socketioxide has no `onAnyOutgoing`; funnelling emits through these functions gives the
//! server one place to observe them (they are traced at `debug` level with target
//! `socket_chat::outgoing`), one place for back-pressure, and one place that logs a send
//! that failed instead of dropping the error.

use std::time::Duration;

use serde::Serialize;
use socketioxide::SendError;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Socket;
use socketioxide_core::adapter::errors::SocketError;
use tracing::{debug, warn};

use super::admin;

/// Emits `event` to one socket. When its outgoing buffer is full, waits for room instead of
/// dropping the packet (a replay can be far longer than the buffer); gives up only when the
/// socket is gone.
pub async fn emit<A: Adapter, T: Serialize + ?Sized>(
    socket: &SocketRef<A>,
    event: &str,
    data: &T,
) -> Result<(), SendError> {
    debug!(target: "socket_chat::outgoing", sid = %socket.id, event, "emit");
    admin::hooks::sent(socket, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    loop {
        match socket.emit(event, data) {
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => {
                debug!(sid = %socket.id, event, error = %e, "emit failed: the socket is gone");
                return Err(e);
            }
            Ok(()) => return Ok(()),
        }
    }
}

/// Emits `event` to one socket now, or fails: for a sender that must never wait (the
/// writer), which then tells the socket to come back and catch up.
pub fn try_emit<A: Adapter, T: Serialize + ?Sized>(
    socket: &SocketRef<A>,
    event: &str,
    data: &T,
) -> Result<(), SendError> {
    debug!(target: "socket_chat::outgoing", sid = %socket.id, event, "emit");
    admin::hooks::sent(socket, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    socket.emit(event, data)
}

/// Emits `event` to one socket asking for an ack, and waits for it (at most `timeout`):
/// a server-to-client acknowledgement. `None` when the socket is gone, the answer is late
/// or cannot be read as `R`.
pub async fn ask<A: Adapter, T: Serialize + ?Sized, R: serde::de::DeserializeOwned>(
    socket: &SocketRef<A>,
    event: &str,
    data: &T,
    timeout: Duration,
) -> Option<R> {
    debug!(target: "socket_chat::outgoing", sid = %socket.id, event, "emit with ack");
    admin::hooks::sent(socket, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    match socket.timeout(timeout).emit_with_ack::<_, R>(event, data) {
        Ok(answer) => answer.await.inspect_err(|e| debug!(event, error = %e, "no ack")).ok(),
        Err(e) => {
            debug!(event, error = %e, "emit with ack failed");
            None
        }
    }
}

/// The chat's namespace (`/`), or `None` once the server has closed it (shutting down):
/// socketioxide's `io.to`, `io.local`, `io.rooms`… panic then, and the writer's and
/// presence's tasks may still run for a moment.
pub fn chat_namespace<A: Adapter>(io: &socketioxide::SocketIo<A>) -> Option<BroadcastOperators<A>> {
    io.of("/")
}

/// Emits `event` to the sockets `to` selects (`io.to(room)`, `io.except(room)`, …),
/// logging a failure rather than returning it: a broadcast has no one to report to.
pub async fn broadcast<A: Adapter, T: Serialize + ?Sized>(to: BroadcastOperators<A>, event: &str, data: &T) {
    debug!(target: "socket_chat::outgoing", event, "broadcast");
    admin::hooks::broadcast(&to, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    if let Err(e) = to.emit(event, data).await {
        warn!(event, error = %e, "broadcast failed");
    }
}

/// Emits `event` with the arguments `data` (a tuple) to each socket `to` selects, one by
/// one, never waiting; returns the sockets whose outgoing queue was full (they did not get
/// it). For the writer, which must know exactly who missed a message: socketioxide's
/// broadcast drops it for a full socket and does not say which. The packet is encoded
/// once and its buffer shared by every socket (`Socket::emit_each`, vendor/socketioxide/PATCHES.md),
/// as socketioxide's broadcast does.
///
/// `direct` decides whether this broadcast is sparse enough for this thread to write every
/// frame itself ([`DirectWrites`]); `more_waiting` says that other broadcasts follow at once.
pub fn broadcast_each<A: Adapter, T: Serialize + ?Sized>(
    to: BroadcastOperators<A>,
    event: &str,
    data: &T,
    direct: &DirectWrites,
    more_waiting: bool,
) -> Vec<SocketRef<A>> {
    debug!(target: "socket_chat::outgoing", event, "broadcast");
    admin::hooks::broadcast(&to, event, data); // Admin UI: event_sent (src/server/admin/hooks.rs)
    let sockets = to.sockets();
    let failed = direct.broadcast(sockets.len(), more_waiting, || Socket::emit_each(sockets, event, data));
    match failed {
        Ok(failed) => failed
            .into_iter()
            .filter_map(|(socket, error)| match error {
                SocketError::InternalChannelFull => Some(socket),
                // Gone: its disconnect handler cleans up.
                SocketError::Closed => {
                    debug!(sid = %socket.id, event, "emit failed: the socket is gone");
                    None
                }
            })
            .collect(),
        Err(e) => {
            warn!(event, error = %e, "broadcast not serializable");
            Vec::new()
        }
    }
}

/// Decides, once per broadcast, whether the broadcasting thread writes each frame itself
/// (engineioxide's `write_directly`: vendor/engineioxide/PATCHES.md, patch 11) or queues
/// it for each connection's task, as every other emit does.
///
/// Written directly, a delivery to an idle socket costs no wake-up and no poll of that
/// socket's task: at 50 messages/s, where every delivery is a write of its own anyway, that
/// was about 12 % of the server's CPU per delivery (bench/results/TUNING.md, steps 11 and 14).
/// But then one thread makes all of the broadcast's writes, one `sendto` per socket, where
/// the connections' tasks share them over the runtime's threads and write several queued
/// messages per `sendto` when messages come fast: for every broadcast, that cut a fan-out
/// to 1 000 sockets at saturation from 769 000 to 101 000 deliveries/s.
///
/// So a broadcast is written directly only while broadcasts are sparse and this thread can
/// afford it: none follows at once (`more_waiting`: queued, the connections' tasks batch
/// them); broadcasts come, on average, at least as far apart as this one is expected to take
/// (its receivers times the CPU time per socket measured on the previous direct broadcasts),
/// so that those behind it do not wait for it; and direct writes have taken at most three
/// quarters of the thread's time. That share is kept as a credit of CPU time: it grows by
/// three quarters of the time that passes, up to [`Self::BURST`] (or one broadcast's
/// expected cost, if larger), and each direct broadcast spends the CPU time it took. At 50
/// messages/s a broadcast to 1 000 receivers (10–12 ms of CPU on the 2-core test machine,
/// about 55 % of the thread) is written directly; at a few hundred messages a second to
/// 1 000 receivers, and at saturation, every broadcast is queued.
///
/// An average and a credit rather than the time since the previous broadcast alone: the
/// senders' messages do not come evenly (the store groups them, the writer waits for a core),
/// and at 1 000 receivers and 50 messages/s, where a broadcast costs half the time between
/// two, a third of the broadcasts came sooner than one and a half times their cost after the
/// previous one and were queued (bench/results/TUNING.md, step 16). The credit alone let one
/// broadcast in eight through at 500 messages/s to 1 000 receivers, and the broadcasts
/// queued behind it waited for it: p99 went past 100 ms a step earlier.
///
/// Both measures hold on a loaded machine: the time that passes is the senders' pace, and
/// the cost is the thread's CPU time, not the wall time, which grows with the time the
/// thread waits for a core. (Measured as the wall time of a broadcast, at 1 000 receivers and
/// load 5 on 2 cores, 60 % of the broadcasts at 50 messages/s were queued.)
#[derive(Debug)]
pub struct DirectWrites {
    state: std::sync::Mutex<DirectState>,
}

#[derive(Debug)]
struct DirectState {
    /// When the credit was last brought up to date (`None`: never; the credit is full).
    updated: Option<std::time::Instant>,
    /// CPU time direct writes may still take, in ns (negative after a broadcast that took
    /// more than there was).
    credit_ns: i64,
    /// The time between the starts of two broadcasts (a moving average, an eighth per
    /// broadcast), in ns; `None` until there have been two.
    mean_interval_ns: Option<u64>,
    /// CPU time per socket of the latest direct broadcasts (a moving average), in ns.
    per_socket_ns: u64,
}

impl DirectWrites {
    /// Before any direct broadcast is measured: a conservative guess (about twice the
    /// 4–5 µs of CPU a direct write took at 1 000 receivers on the 2-core test machine).
    const FIRST_GUESS_NS: u64 = 10_000;
    /// The most credit kept (unless one broadcast is expected to cost more): how long a burst
    /// of direct broadcasts may take the thread.
    const BURST: Duration = Duration::from_millis(50);

    pub fn new() -> Self {
        let state =
            DirectState { updated: None, credit_ns: 0, mean_interval_ns: None, per_socket_ns: Self::FIRST_GUESS_NS };
        Self { state: std::sync::Mutex::new(state) }
    }

    /// Whether a broadcast to `receivers` sockets starting `now` is written directly.
    fn decide(&self, receivers: usize, more_waiting: bool, now: std::time::Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let expected = state.per_socket_ns.saturating_mul(receivers as u64).min(i64::MAX as u64) as i64;
        let cap = expected.max(Self::BURST.as_nanos() as i64);
        let earned = match state.updated.replace(now) {
            None => cap,
            Some(then) => {
                let interval = now.saturating_duration_since(then).as_nanos().min(u64::MAX as u128) as u64;
                state.mean_interval_ns =
                    Some(state.mean_interval_ns.map_or(interval, |mean| mean / 8 * 7 + interval / 8));
                (interval as u128 * 3 / 4).min(cap as u128) as i64
            }
        };
        state.credit_ns = state.credit_ns.saturating_add(earned).min(cap);
        let sparse = state.mean_interval_ns.is_none_or(|mean| mean >= expected as u64);
        !more_waiting && receivers > 0 && sparse && state.credit_ns >= expected
    }

    /// Runs `send` (the broadcast's emits), inside `write_directly` when [`Self::decide`]
    /// says so, and notes, for a direct one, the CPU time it took (spent from the credit, and
    /// per socket for the next estimates).
    pub fn broadcast<R>(&self, receivers: usize, more_waiting: bool, send: impl FnOnce() -> R) -> R {
        let direct = self.decide(receivers, more_waiting, std::time::Instant::now());
        if !direct {
            return send();
        }
        let cpu = thread_cpu();
        let result = engineioxide::socket::write_directly(send);
        let took = thread_cpu().saturating_sub(cpu).as_nanos() as u64;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.credit_ns = state.credit_ns.saturating_sub(took.min(i64::MAX as u64) as i64);
        // A quarter of each new sample: one costly broadcast (many sockets busy, written
        // again by their tasks) does not stop direct writes for long, nor does one cheap one
        // start them at a rate that cannot afford them.
        state.per_socket_ns = (state.per_socket_ns * 3 + took / receivers as u64) / 4;
        result
    }
}

/// The CPU time this thread has used. The broadcast's emits do not await, so the thread is
/// the same at both ends of one.
fn thread_cpu() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

impl Default for DirectWrites {
    fn default() -> Self {
        Self::new()
    }
}

/// Answers an event with `reply`, if its sender asked for an ack (the tutorial's clients
/// do not always). A reply that cannot be sent is logged: the client will see its timeout.
pub fn ack<A: Adapter, T: Serialize + ?Sized>(ack: AckSender<A>, reply: &T) {
    debug!(target: "socket_chat::outgoing", "ack");
    if let Err(e) = ack.send(reply) {
        warn!(error = %e, "ack not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broadcast is written directly only while broadcasts are sparse and the credit
    /// covers it: not when more follow at once, not when they come faster than one takes, not
    /// when direct writes have spent what the time since allows; and again once they slow
    /// down, or enough time has passed.
    #[test]
    fn a_broadcast_is_written_directly_only_while_sparse_and_affordable() {
        use engineioxide::socket::writing_directly;
        use std::time::Instant;
        let direct = DirectWrites::new();
        // The first one: the credit is full (50 ms; 1 000 receivers at 10 µs are 10 ms).
        assert!(direct.broadcast(1_000, false, writing_directly));
        assert!(!writing_directly(), "the scope ends with the broadcast");
        let start = Instant::now();
        let ms = |n: u64| start + Duration::from_millis(n);
        // From here, an estimate of 10 µs per socket, and broadcasts 20 ms apart until now.
        direct.state.lock().unwrap().per_socket_ns = 10_000;
        direct.state.lock().unwrap().mean_interval_ns = Some(20_000_000);
        // Others waiting behind it: queued, whatever the credit.
        assert!(!direct.decide(1, true, ms(0)));
        // Nobody to send to: nothing to write directly.
        assert!(!direct.decide(0, false, ms(0)));
        let spend = |ns: i64| direct.state.lock().unwrap().credit_ns -= ns;
        // 20 ms apart, each taking its expected 10 ms: 15 ms earned each time, always direct.
        for i in 1..=5 {
            assert!(direct.decide(1_000, false, ms(20 * i)), "broadcast {i}, 20 ms apart");
            spend(10_000_000);
        }
        // 20 ms apart, each taking 40 ms (the estimate kept at 10): the credit runs out.
        let mut seen = Vec::new();
        for i in 6..=9 {
            let d = direct.decide(1_000, false, ms(20 * i));
            if d {
                spend(40_000_000);
            }
            seen.push(d);
        }
        assert_eq!(seen, [true, true, false, true], "credit 40 -> 15 -> -10 -> 5 -> 20 ms");
        // Coming faster than one takes (1 ms apart, 10 ms each), with credit to spare: queued
        // once the average interval has fallen below 10 ms, and direct again once it is back.
        direct.state.lock().unwrap().credit_ns = 1_000_000_000;
        let fast: Vec<bool> = (1..=20).map(|i| direct.decide(1_000, false, ms(180 + i))).collect();
        assert!(fast[0], "one early broadcast after sparse ones");
        assert!(!fast[19], "twenty 1 ms apart");
        let slow: Vec<bool> = (1..=20).map(|i| direct.decide(1_000, false, ms(200 + 20 * i))).collect();
        assert!(!slow[0] && slow[19], "{slow:?}");
        // A broadcast expected to cost more than the burst may go once the credit has grown to it.
        direct.state.lock().unwrap().credit_ns = 0;
        direct.state.lock().unwrap().mean_interval_ns = Some(2_000_000_000);
        assert!(!direct.decide(100_000, false, ms(700)), "1 s expected, 75 ms of credit");
        assert!(direct.decide(100_000, false, ms(2_100)));
    }

    /// The time per socket follows the CPU time direct broadcasts take, a quarter of each at a
    /// time; time spent waiting (here asleep) is not counted.
    #[test]
    fn the_time_per_socket_follows_the_cpu_time_of_direct_broadcasts() {
        let spin = |d: Duration| {
            let start = thread_cpu();
            while thread_cpu() - start < d {}
        };
        let direct = DirectWrites::new();
        assert_eq!(direct.state.lock().unwrap().per_socket_ns, DirectWrites::FIRST_GUESS_NS);
        // 10 sockets in at least 2 ms of CPU: at least 200 µs each, a quarter of it taken,
        // and the 2 ms spent from the credit.
        let credit = |d: &DirectWrites| d.state.lock().unwrap().credit_ns;
        direct.broadcast(10, false, || spin(Duration::from_millis(2)));
        let after = direct.state.lock().unwrap().per_socket_ns;
        assert!(credit(&direct) <= DirectWrites::BURST.as_nanos() as i64 - 2_000_000, "{}", credit(&direct));
        assert!(after >= (DirectWrites::FIRST_GUESS_NS * 3 + 200_000) / 4, "{after} ns");
        // A queued broadcast is not a measure of direct writes.
        direct.broadcast(10, true, || spin(Duration::from_millis(2)));
        assert_eq!(direct.state.lock().unwrap().per_socket_ns, after);
        // Asleep for 20 ms: no CPU time, the estimate falls (a quarter of the way to zero).
        std::thread::sleep(Duration::from_millis(200));
        direct.broadcast(10, false, || std::thread::sleep(Duration::from_millis(20)));
        let asleep = direct.state.lock().unwrap().per_socket_ns;
        assert!(asleep < after * 3 / 4 + 20_000, "{asleep} ns after {after} ns");
    }
}
