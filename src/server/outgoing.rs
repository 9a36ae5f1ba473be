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
use socketioxide::socket::Socket;
use socketioxide::operators::BroadcastOperators;
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
/// So a broadcast is written directly only while broadcasts are sparse: none follows at
/// once (`more_waiting`), and the time since the previous one started is at least one and a
/// half times what writing this one directly is expected to cost (its receivers times the
/// CPU time per socket measured on the previous direct broadcasts): direct writes take at
/// most about two thirds of this thread. At 50 messages/s (20 ms apart) a broadcast to 1 000
/// receivers (8–9 ms of CPU on the 2-core test machine) is written directly; past about 80 000
/// deliveries a second, whatever the room's size, and at saturation (broadcasts back to
/// back, 500 000 and more), every broadcast is queued.
///
/// Both measures hold on a loaded machine: the time between broadcasts is the senders'
/// pace, and the cost is the thread's CPU time, not the wall time, which grows with the time
/// the thread waits for a core. (Measured as the wall time of a broadcast, against the time
/// since the previous one ended, at 1 000 receivers and load 5 on 2 cores, 60 % of the
/// broadcasts at 50 messages/s were queued.)
#[derive(Debug)]
pub struct DirectWrites {
    state: std::sync::Mutex<DirectState>,
}

#[derive(Debug)]
struct DirectState {
    /// When the previous broadcast started (`None`: there was none).
    last_start: Option<std::time::Instant>,
    /// CPU time per socket of the latest direct broadcasts (a moving average), in ns.
    per_socket_ns: u64,
}

impl DirectWrites {
    /// Before any direct broadcast is measured: a conservative guess (about twice the
    /// 4–5 µs of CPU a direct write took at 1 000 receivers on the 2-core test machine).
    const FIRST_GUESS_NS: u64 = 10_000;

    pub fn new() -> Self {
        Self { state: std::sync::Mutex::new(DirectState { last_start: None, per_socket_ns: Self::FIRST_GUESS_NS }) }
    }

    /// Whether a broadcast to `receivers` sockets starting `now` is written directly.
    fn decide(&self, receivers: usize, more_waiting: bool, now: std::time::Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let previous = state.last_start.replace(now);
        if more_waiting || receivers == 0 {
            return false;
        }
        let expected = Duration::from_nanos(state.per_socket_ns.saturating_mul(receivers as u64));
        previous.is_none_or(|start| now.saturating_duration_since(start) >= expected * 3 / 2)
    }

    /// Runs `send` (the broadcast's emits), inside `write_directly` when [`Self::decide`]
    /// says so (which notes when it started), and notes, for a direct one, the CPU time it
    /// took per socket.
    pub fn broadcast<R>(&self, receivers: usize, more_waiting: bool, send: impl FnOnce() -> R) -> R {
        let direct = self.decide(receivers, more_waiting, std::time::Instant::now());
        if !direct {
            return send();
        }
        let cpu = thread_cpu();
        let result = engineioxide::socket::write_directly(send);
        let sample = thread_cpu().saturating_sub(cpu).as_nanos() as u64 / receivers as u64;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // A quarter of each new sample: one costly broadcast (many sockets busy, written
        // again by their tasks) does not stop direct writes for long, nor does one cheap one
        // start them at a rate that cannot afford them.
        state.per_socket_ns = (state.per_socket_ns * 3 + sample) / 4;
        result
    }

    /// Whether the next broadcast to `receivers` sockets, with nothing more waiting, would
    /// be written directly now (without counting as one).
    #[cfg(test)]
    fn would_write_directly(&self, receivers: usize) -> bool {
        let state = self.state.lock().unwrap();
        let expected = Duration::from_nanos(state.per_socket_ns * receivers as u64);
        state.last_start.is_none_or(|start| start.elapsed() >= expected * 3 / 2)
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

    /// A broadcast is written directly only while broadcasts are sparse: not when more follow
    /// at once, not sooner after the previous one than one and a half times what it is
    /// expected to cost, and again once that much time has passed.
    #[test]
    fn a_broadcast_is_written_directly_only_while_broadcasts_are_sparse() {
        use engineioxide::socket::writing_directly;
        let direct = DirectWrites::new();
        assert!(!writing_directly());
        // The first one: nothing before it.
        assert!(direct.broadcast(1_000, false, writing_directly));
        assert!(!writing_directly(), "the scope ends with the broadcast");
        // Others waiting behind it: queued, whatever the time.
        assert!(!direct.broadcast(1, true, writing_directly));
        // Right after one: not one expected to cost more than two thirds of the time since.
        assert!(!direct.broadcast(1_000_000, false, writing_directly));
        // Nobody to send to: nothing to write directly.
        assert!(!direct.broadcast(0, false, writing_directly));
        // Once the time has passed, it may again.
        let expected = Duration::from_nanos(direct.state.lock().unwrap().per_socket_ns * 10_000);
        assert!(!direct.would_write_directly(10_000), "{expected:?} × 1.5 have not passed");
        std::thread::sleep(expected * 3 / 2 + Duration::from_millis(1));
        assert!(direct.would_write_directly(10_000));
        assert!(direct.broadcast(10_000, false, writing_directly));
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
        // 10 sockets in at least 2 ms of CPU: at least 200 µs each, a quarter of it taken.
        direct.broadcast(10, false, || spin(Duration::from_millis(2)));
        let after = direct.state.lock().unwrap().per_socket_ns;
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
