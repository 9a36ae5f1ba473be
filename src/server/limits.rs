//! What one client may cost the server: connections per IP address, arguments per event,
//! and events per second (token buckets per socket and per IP address).
//!
//! The limits socketioxide enforces itself (WebSocket frame and message size, polling
//! payload, binary attachments per packet, the packets queued for a socket) are set in
//! [`app`](super::app); these are the ones it has no option for:
//!
//! - [`admit`], a connect middleware of every namespace but `/admin`: a socket over
//!   `max-connections-per-ip` gets a CONNECT error (`too_many_connections`); an admitted
//!   one gets its buckets.
//! - [`guarded`], around every event handler: an event with more than `max-event-args`
//!   arguments gets a `too_large` error ack; one over the socket's or the address's rate a
//!   `rate_limited` error ack with `retryAfterMs` ([`RetryLater`]); a socket that goes on
//!   sending while refused (`flood-disconnect-after` refusals, one forgiven every 100 ms)
//!   is disconnected. The handler does not run for a refused event.
//!
//! The official client's `retries` send one packet at a time and wait for its ack (or its
//! `ackTimeout`) before the next: far below the default rates, so they never trip them.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State};
use socketioxide::handler::{FromMessageParts, MessageHandler};
use socketioxide::socket::Socket;
use socketioxide_core::Value;
use tracing::{debug, warn};

use super::config::ChatConfig;
use super::outgoing;
use crate::protocol::{AckErrorCode, AckReply, RetryLater, RetryLaterReply};

/// How often the per-address buckets of quiet addresses are forgotten.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// One refusal is forgiven every this long (the flood bucket's refill).
const FORGIVE_EVERY: Duration = Duration::from_millis(100);

/// The limits and the per-address state, shared by every socket (in socketioxide's state).
#[derive(Clone)]
pub struct Limits(Arc<Shared>);

struct Shared {
    /// Most arguments of one event.
    max_event_args: usize,
    /// Most sockets from one address (0: no limit).
    max_connections_per_ip: usize,
    /// Sockets open per address.
    connections: Mutex<HashMap<IpAddr, usize>>,
    /// Each socket's bucket (`None`: no limit).
    per_socket: Option<Quota>,
    /// The flood bucket of each socket.
    flood: Quota,
    /// Every address's bucket (`None`: no limit).
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// The clock the buckets run on.
    clock: DefaultClock,
}

impl fmt::Debug for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limits").field("max_event_args", &self.0.max_event_args).finish_non_exhaustive()
    }
}

/// A rate of `per_second` with bursts of `burst`, or `None` when `per_second` is 0.
fn quota(per_second: u32, burst: u32) -> Option<Quota> {
    let per_second = NonZeroU32::new(per_second)?;
    Some(Quota::per_second(per_second).allow_burst(NonZeroU32::new(burst).unwrap_or(per_second)))
}

impl Limits {
    /// From the configuration (checked by [`Config::load`](super::config::Config::load)).
    /// Starts a task that forgets quiet addresses, so call it inside the runtime.
    pub fn new(config: &ChatConfig) -> Self {
        let per_ip = quota(config.ip_events_per_second, config.ip_event_burst).map(RateLimiter::keyed);
        let flood = Quota::with_period(FORGIVE_EVERY)
            .expect("a non-zero period")
            .allow_burst(NonZeroU32::new(config.flood_disconnect_after).unwrap_or(NonZeroU32::MIN));
        let shared = Arc::new(Shared {
            max_event_args: config.max_event_args,
            max_connections_per_ip: config.max_connections_per_ip,
            connections: Mutex::new(HashMap::new()),
            per_socket: quota(config.socket_events_per_second, config.socket_event_burst),
            flood,
            per_ip,
            clock: DefaultClock::default(),
        });
        let weak = Arc::downgrade(&shared);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(FORGET_EVERY);
            loop {
                every.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                if let Some(per_ip) = &shared.per_ip {
                    per_ip.retain_recent();
                    per_ip.shrink_to_fit();
                }
            }
        });
        Self(shared)
    }
}

/// What an admitted socket carries (in its extensions): its buckets, and its place in its
/// address's count, given back when the socket is dropped.
#[derive(Clone)]
struct Admitted(Arc<SocketLimits>);

struct SocketLimits {
    limits: Limits,
    /// The peer's address, when the server knows it.
    ip: Option<IpAddr>,
    /// The socket's own bucket.
    events: Option<DefaultDirectRateLimiter>,
    /// Refusals not yet forgiven; empty: the socket is disconnected.
    flood: DefaultDirectRateLimiter,
}

impl Drop for SocketLimits {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        let mut connections = self.limits.0.connections.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = connections.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                connections.remove(&ip);
            }
        }
    }
}

/// Why a socket was not admitted (sent to the client as its CONNECT error's message).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Too many sockets from this address.
    #[error("too_many_connections: at most {0} connections from one address")]
    TooManyConnections(usize),
}

/// The peer's address, from axum's connection info (absent when served without it).
pub fn peer_ip<A: Adapter>(socket: &Socket<A>) -> Option<IpAddr> {
    socket.req_parts().extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_canonical())
}

/// A connect middleware: counts the socket against its address, and gives it its buckets.
pub async fn admit<A: Adapter>(socket: SocketRef<A>, State(limits): State<Limits>) -> Result<(), Refused> {
    let ip = peer_ip(&socket);
    if let Some(ip) = ip {
        let mut connections = limits.0.connections.lock().unwrap_or_else(|e| e.into_inner());
        let count = connections.entry(ip).or_insert(0);
        let max = limits.0.max_connections_per_ip;
        if max > 0 && *count >= max {
            drop(connections);
            warn!(%ip, max, ns = socket.ns(), "connection refused: too many from this address");
            return Err(Refused::TooManyConnections(max));
        }
        *count += 1;
    }
    let shared = &limits.0;
    let admitted = SocketLimits {
        ip,
        events: shared.per_socket.map(RateLimiter::direct),
        flood: RateLimiter::direct(shared.flood),
        limits: limits.clone(),
    };
    socket.extensions.insert(Admitted(Arc::new(admitted)));
    Ok(())
}

/// Wraps an event handler: the event runs only when within the limits (see the module doc).
pub fn guarded<H>(handler: H) -> Guarded<H> {
    Guarded(handler)
}

/// See [`guarded`].
#[derive(Clone)]
pub struct Guarded<H>(H);

/// Why an event was refused.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// More arguments than allowed.
    TooManyArgs(usize),
    /// Over a rate; try again after this long.
    RateLimited(Duration),
}

impl<A, T, H> MessageHandler<A, T> for Guarded<H>
where
    A: Adapter,
    T: Send + Sync + 'static,
    H: MessageHandler<A, T>,
{
    fn call(&self, socket: Arc<Socket<A>>, mut value: Value, ack_id: Option<i64>) {
        let Some(Admitted(admitted)) = socket.extensions.get::<Admitted>() else {
            // A namespace without `admit` (none today): no limits to apply.
            return self.0.call(socket, value, ack_id);
        };
        let refusal = match check(&admitted, &value) {
            None => return self.0.call(socket, value, ack_id),
            Some(refusal) => refusal,
        };
        // Refused: the handler does not run; the sender learns why if it asked for an ack.
        let Ok(ack) = AckSender::from_message_parts(&socket, &mut value, &ack_id);
        match refusal {
            Refusal::TooManyArgs(max) => {
                let reply =
                    AckReply::<()>::error(AckErrorCode::TooLarge, format!("an event has at most {max} arguments"));
                outgoing::ack(ack, &reply);
            }
            Refusal::RateLimited(wait) => {
                let retry_after_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
                if admitted.flood.check().is_err() {
                    warn!(sid = %socket.id, ip = ?admitted.ip, "disconnected: kept sending while rate limited");
                    let _ = socket.disconnect();
                    return;
                }
                debug!(sid = %socket.id, retry_after_ms, "event refused: rate limited");
                let error = RetryLater {
                    code: AckErrorCode::RateLimited,
                    message: format!("too many events: try again in {retry_after_ms} ms"),
                    retry_after_ms,
                };
                outgoing::ack(ack, &RetryLaterReply::from(error));
            }
        }
    }
}

/// The first limit `value` is over, if any. Rates are checked last, so an event refused
/// for its shape costs no tokens.
fn check(admitted: &SocketLimits, value: &Value) -> Option<Refusal> {
    let shared = &admitted.limits.0;
    if let Value::Str(text, _) = value
        && argument_count(text).is_some_and(|n| n > shared.max_event_args)
    {
        return Some(Refusal::TooManyArgs(shared.max_event_args));
    }
    let now = shared.clock.now();
    if let Some(events) = &admitted.events
        && let Err(not_until) = events.check()
    {
        return Some(Refusal::RateLimited(not_until.wait_time_from(now)));
    }
    if let (Some(per_ip), Some(ip)) = (&shared.per_ip, admitted.ip)
        && let Err(not_until) = per_ip.check_key(&ip)
    {
        return Some(Refusal::RateLimited(not_until.wait_time_from(now)));
    }
    None
}

/// Arguments of an event packet's data (`["event", arg, …]`, so one less than its
/// elements), without building them; `None` when it is not a JSON array (the handler's
/// own parsing then answers it). Skipping an argument does not recurse, however deep.
fn argument_count(text: &str) -> Option<usize> {
    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
            }
            Ok(n)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let elements = serde::Deserializer::deserialize_seq(&mut deserializer, Count).ok()?;
    Some(elements.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_counted_without_the_event_name() {
        assert_eq!(argument_count(r#"["chat message","hi","c-1",{}]"#), Some(3));
        assert_eq!(argument_count(r#"["rooms:list"]"#), Some(0));
        assert_eq!(argument_count(r#"["e",[1,[2,[3]]],{"a":[1,2,3]}]"#), Some(2));
        assert_eq!(argument_count("not json"), None);
        let deep = format!("[\"e\",{}{}]", "[".repeat(10_000), "]".repeat(10_000));
        // serde_json skips what it ignores without recursing: no stack overflow (the
        // handler's own parsing refuses the depth).
        assert_eq!(argument_count(&deep), Some(1));
    }

    #[test]
    fn no_rate_means_no_bucket() {
        assert!(quota(0, 10).is_none());
        assert!(quota(5, 0).is_some());
    }
}
