//! The tutorial's acknowledgement and catch-all examples, on `/` and `/lab` alike.

use std::time::{Duration, Instant};

use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use tracing::info;

use super::admin::hooks::observed;
use super::limits::guarded;
use super::outgoing;
use super::routes::{Route, route};
use crate::protocol::tutorial::{
    REQUEST_STATUS, REQUEST2_STATUS, RttMeasured, TutorialStatus, UnhandledEvent, Withholding,
};
use crate::protocol::{AckErrorCode, AckReply, events};

/// Whether `request` / `request2` are left unanswered, on a socket that has sent `withhold`
/// (only those carry it: most sockets never do, and pay nothing for it).
#[derive(Clone, Copy)]
struct Withhold(bool);

/// The tutorial's handlers (src/server/routes.rs), on `/` and `/lab`.
pub fn route<A: Adapter>(event: &str) -> Option<Route<A>> {
    // guarded(): the limits (src/server/limits.rs); observed(): the Admin UI's event_received
    // (src/server/admin/hooks.rs).
    let route: Route<A> = match event {
        events::REQUEST => route!(guarded(observed(on_request))),
        events::REQUEST2 => route!(guarded(observed(on_request2))),
        events::WITHHOLD => route!(guarded(observed(on_withhold))),
        events::RTT => route!(guarded(observed(on_rtt))),
        _ => return None,
    };
    Some(route)
}

/// The handler of every event without one of its own.
pub fn other<A: Adapter>() -> Route<A> {
    route!(guarded(observed(on_any_other)))
}

fn withheld<A: Adapter>(socket: &SocketRef<A>) -> bool {
    socket.extensions.get::<Withhold>().is_some_and(|Withhold(withhold)| withhold)
}

/// The seed's `request`: logs both arguments (any JSON, as the tutorial's server takes) and
/// acks `{ status: "ok" }`.
async fn on_request<A: Adapter>(socket: SocketRef<A>, TryData(args): TryData<(Value, Value)>, ack: AckSender<A>) {
    answer_request(&socket, events::REQUEST, args, ack, REQUEST_STATUS);
}

/// The seed's `request2` (the promise flavour on the client): acks `{ status: "ok from request 2" }`.
async fn on_request2<A: Adapter>(socket: SocketRef<A>, TryData(args): TryData<(Value, Value)>, ack: AckSender<A>) {
    answer_request(&socket, events::REQUEST2, args, ack, REQUEST2_STATUS);
}

fn answer_request<A: Adapter>(
    socket: &SocketRef<A>,
    event: &str,
    args: Result<(Value, Value), socketioxide::ParserError>,
    ack: AckSender<A>,
    status: &str,
) {
    let (arg1, arg2) = match args {
        Ok(args) => args,
        Err(e) => {
            let reply = AckReply::<()>::error(AckErrorCode::InvalidArguments, format!("expected (arg1, arg2): {e}"));
            return outgoing::ack(ack, &reply);
        }
    };
    info!(%arg1, %arg2, "{event}");
    if !withheld(socket) {
        outgoing::ack(ack, &TutorialStatus { status: status.into() });
    }
}

/// Tells the server to leave `request` and `request2` unanswered, or to answer again.
async fn on_withhold<A: Adapter>(socket: SocketRef<A>, TryData(withhold): TryData<bool>, ack: AckSender<A>) {
    let reply = match withhold {
        Ok(withhold) => {
            socket.extensions.insert(Withhold(withhold));
            AckReply::Ok { data: Withholding { withhold } }
        }
        Err(e) => AckReply::error(AckErrorCode::InvalidArguments, format!("expected true or false: {e}")),
    };
    outgoing::ack(ack, &reply);
}

/// A server-to-client ack: the server asks, the client answers, the server uses the answer.
async fn on_rtt<A: Adapter>(socket: SocketRef<A>) {
    let token = socket.id.to_string();
    let started = Instant::now();
    let answer: Option<String> = outgoing::ask(&socket, events::RTT_PROBE, &token, Duration::from_secs(5)).await;
    let measured =
        RttMeasured { ms: started.elapsed().as_secs_f64() * 1000.0, echoed: answer.as_deref() == Some(token.as_str()) };
    let _ = outgoing::emit(&socket, events::RTT_MEASURED, &measured).await;
}

/// Every event without a handler (the seed's `catch-all-listeners` among them): logged,
/// and acked `{ status: "ok", data: { event } }` when the sender asked for an ack.
async fn on_any_other<A: Adapter>(socket: SocketRef<A>, Event(event): Event, ack: AckSender<A>) {
    info!(sid = %socket.id, %event, "event without a handler");
    outgoing::ack(ack, &AckReply::Ok { data: UnhandledEvent { event: event.to_string() } });
}
