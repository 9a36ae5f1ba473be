//! `server_stats` every 2 s, and the aggregated events it carries.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::snapshot;
use socketioxide::adapter::Adapter;

use super::{Admin, epoch_ms};
use crate::protocol::admin::{AggregatedEvent, AggregatedKind, NamespaceDetails, ServerStats};
use crate::protocol::events::admin as events;

/// The package's period.
pub const EVERY: Duration = Duration::from_secs(2);

/// Counts per second and kind since the last `server_stats` (the package's `EventBuffer`).
#[derive(Default)]
pub struct EventBuffer(Mutex<BTreeMap<Key, u64>>);

/// The second (ms since the Unix epoch), the kind, the sub-type.
type Key = (i64, AggregatedKind, Option<String>);

impl EventBuffer {
    /// Adds `count` to this second's count of `kind`.
    pub fn push(&self, kind: AggregatedKind, sub_type: Option<&str>, count: u64) {
        if count == 0 {
            return;
        }
        let second = epoch_ms(SystemTime::now()) / 1000 * 1000;
        let mut buffer = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *buffer.entry((second, kind, sub_type.map(str::to_owned))).or_default() += count;
    }

    /// Everything counted so far, emptying the buffer.
    pub fn take(&self) -> Vec<AggregatedEvent> {
        let buffer = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        buffer
            .into_iter()
            .map(|((timestamp, kind, sub_type), count)| AggregatedEvent { timestamp, kind, sub_type, count })
            .collect()
    }
}

/// Sends `server_stats` every [`EVERY`] while an admin watches (on any node: each node's
/// statistics, with its own `serverId`, reach the admins of every node).
pub async fn run<A: Adapter>(admin: Admin<A>) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if admin.watched() {
            admin.tell(events::SERVER_STATS, &(stats(&admin, admin.events().take()),));
        } else {
            admin.events().take();
        }
    }
}

/// The statistics now, with `aggregated_events`.
pub fn stats<A: Adapter>(admin: &Admin<A>, aggregated_events: Vec<AggregatedEvent>) -> ServerStats {
    let mut namespaces = Vec::new();
    let mut clients = HashSet::new();
    let mut polling = HashSet::new();
    if let Some(io) = admin.io() {
        for ns in io.nsps() {
            let name = ns.ns_path().to_owned();
            let sockets = ns.sockets();
            for socket in &sockets {
                let client = snapshot::client_id(socket);
                if snapshot::transport(socket) == "polling" {
                    polling.insert(client.clone());
                }
                clients.insert(client);
            }
            namespaces.push(NamespaceDetails { name, sockets_count: sockets.len() });
        }
    }
    namespaces.sort_by(|a, b| a.name.cmp(&b.name));
    ServerStats {
        server_id: admin.0.server_id.clone(),
        hostname: admin.0.hostname.clone(),
        pid: std::process::id(),
        uptime: admin.0.started.elapsed().as_secs_f64(),
        clients_count: clients.len(),
        polling_clients_count: polling.len(),
        aggregated_events,
        namespaces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_second_and_kind_then_empties() {
        let buffer = EventBuffer::default();
        buffer.push(AggregatedKind::PacketsIn, None, 1);
        buffer.push(AggregatedKind::PacketsIn, None, 2);
        buffer.push(AggregatedKind::BytesIn, None, 40);
        buffer.push(AggregatedKind::RawDisconnection, None, 0);
        let events = buffer.take();
        let count = |kind| events.iter().filter(|e| e.kind == kind).map(|e| e.count).sum::<u64>();
        assert_eq!(count(AggregatedKind::PacketsIn), 3);
        assert_eq!(count(AggregatedKind::BytesIn), 40);
        assert_eq!(count(AggregatedKind::RawDisconnection), 0, "zero counts are not sent");
        assert!(events.iter().all(|e| e.timestamp % 1000 == 0));
        assert!(buffer.take().is_empty());
    }
}
