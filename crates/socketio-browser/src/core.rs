//! The Socket.IO client protocol as a state machine, with no I/O and no clock.
//!
//! The [`Socket`](super::Socket) feeds it what the transport did ([`Core::transport_opened`],
//! [`Core::receive`], [`Core::transport_closed`]), the time ([`Core::tick`]) and what the
//! application asks ([`Core::emit`], [`Core::disconnect`]); each call returns the
//! [`Output`]s to carry out, in order. Times are milliseconds on any monotonic clock.

use std::collections::{BTreeMap, VecDeque};

use socketioxide_core::Value;
use socketioxide_core::packet::{Packet, PacketData};

use super::codec::{self, Decoded, Decoder, ParserError};
use super::engine::{self, EnginePacket, Frame};

/// The arguments of an incoming event or ack, decoded on demand.
#[derive(Debug, Clone)]
pub struct Payload {
    value: Value,
    with_event: bool,
}

impl Payload {
    /// Arguments in `value`; `with_event` when its first element is the event name.
    pub fn new(value: Value, with_event: bool) -> Self {
        Self { value, with_event }
    }

    /// Decodes the arguments: a tuple type takes every argument in order, any other type the
    /// first argument. Binary attachments decode as bytes.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, ParserError> {
        codec::decode_args(&mut self.value.clone(), self.with_event)
    }
}

/// An ack that did not arrive in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server did not acknowledge the event in the given delay")]
pub struct AckTimeout;

/// Why the socket is no longer connected. The names are socket.io-client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The server disconnected the socket; no automatic reconnection.
    IoServerDisconnect,
    /// The application called `disconnect`; no automatic reconnection.
    IoClientDisconnect,
    /// No ping from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The connection was closed (network down, server gone).
    TransportClose,
    /// The server sent something that is not Socket.IO.
    ParseError,
}

impl DisconnectReason {
    /// The reason as socket.io-client names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IoServerDisconnect => "io server disconnect",
            Self::IoClientDisconnect => "io client disconnect",
            Self::PingTimeout => "ping timeout",
            Self::TransportClose => "transport close",
            Self::ParseError => "parse error",
        }
    }

    /// Whether the client should reconnect by itself.
    pub fn reconnects(self) -> bool {
        !matches!(self, Self::IoServerDisconnect | Self::IoClientDisconnect)
    }
}

/// What the caller must do or tell, in order.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send this frame on the transport.
    Send(Frame),
    /// Close the transport.
    CloseTransport,
    /// The namespace accepted us; `sid` is the socket id.
    Connected {
        /// Socket id.
        sid: String,
    },
    /// The namespace refused us (a CONNECT_ERROR); no automatic reconnection.
    ConnectError(String),
    /// An event from the server.
    Event {
        /// Its name.
        name: String,
        /// Its arguments.
        payload: Payload,
        /// Set when the server asked for an ack: answer with [`Core::ack`].
        ack_id: Option<i64>,
    },
    /// The answer to one of our emits, or its timeout. Exactly one per ack id.
    Ack {
        /// The id [`Core::emit`] returned.
        id: i64,
        /// The server's arguments, or the timeout.
        result: Result<Payload, AckTimeout>,
    },
    /// An event is being sent now (after any buffering): for `onAnyOutgoing` listeners.
    Outgoing {
        /// Its name.
        name: String,
        /// Its arguments.
        payload: Payload,
        /// The id its [`Output::Ack`] will carry, when it asked for an ack.
        ack_id: Option<i64>,
    },
    /// We are no longer connected.
    Disconnected(DisconnectReason),
}

/// How one emit is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EmitOptions {
    /// Ask the server for an ack; its answer (or timeout) comes as one [`Output::Ack`].
    pub ack: bool,
    /// Give up waiting for the ack after this many milliseconds (default: the socket's
    /// [`Delivery::ack_timeout_ms`], else wait forever).
    pub timeout_ms: Option<f64>,
    /// Drop the event instead of buffering it when not connected, and never retry it.
    pub volatile: bool,
    /// Send it through the retry queue, with up to this many extra tries (default: the
    /// socket's [`Delivery::retries`]): see [`Delivery`].
    pub retries: Option<u32>,
}

/// Client delivery, as socket.io-client's `ackTimeout` and `retries` options.
///
/// An emit with retries (every non-volatile emit when [`Delivery::retries`] is set, or one
/// given [`EmitOptions::retries`]) goes through a queue: one packet in flight at a time, sent
/// again with the same arguments (and a new ack id) when its ack times out or the connection
/// comes back, until acknowledged or out of tries; then the next. Put an idempotency key in
/// the arguments so the server stores a retried packet once.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Delivery {
    /// Default ack timeout of every emit, in milliseconds.
    pub ack_timeout_ms: Option<f64>,
    /// When set, every non-volatile emit goes through a queue: one packet in flight, sent
    /// again (with a new ack id) each time its ack times out, up to this many extra tries,
    /// before the next packet goes. The server must make retries idempotent.
    pub retries: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// No transport, or it is opening.
    Closed,
    /// Engine.IO is open; our CONNECT is on its way.
    Handshaking,
    /// Connected to the namespace.
    Connected { sid: String },
}

#[derive(Debug, Clone, Copy)]
struct Heartbeat {
    /// `pingInterval + pingTimeout` from the open packet.
    allowed_silence: f64,
    /// When the last ping (or the open packet) arrived.
    last_ping: f64,
}

/// An ack id on the wire, waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct PendingAck {
    /// When it times out (None: never).
    deadline: Option<f64>,
    /// Whether it belongs to the head of the retry queue rather than a direct emit.
    queued: bool,
}

/// An emit waiting in the retry queue.
#[derive(Debug)]
struct Queued {
    /// The id the caller got, reported in [`Output::Ack`] if it asked for an ack.
    id: i64,
    wants_ack: bool,
    name: String,
    value: Value,
    timeout_ms: Option<f64>,
    /// Attempts sent so far.
    tries: u32,
    /// Extra attempts allowed after the first.
    retries: u32,
    /// Wire ack id of the attempt in flight.
    in_flight: Option<i64>,
}

/// The protocol state of one socket on one namespace.
#[derive(Debug)]
pub struct Core {
    namespace: String,
    auth: Option<serde_json::Value>,
    delivery: Delivery,
    phase: Phase,
    heartbeat: Option<Heartbeat>,
    decoder: Decoder,
    next_ack_id: i64,
    /// Ack ids awaiting an answer.
    pending_acks: BTreeMap<i64, PendingAck>,
    /// Packets emitted while not connected, with their event name, sent in order on connection.
    buffer: VecDeque<(String, Packet)>,
    /// Client delivery: emits sent one at a time until acknowledged (when `retries` is set).
    queue: VecDeque<Queued>,
}

impl Core {
    /// A socket for `namespace` (`"/"` for the main one), not yet connected.
    pub fn new(namespace: impl Into<String>, auth: Option<serde_json::Value>, delivery: Delivery) -> Self {
        Self {
            namespace: namespace.into(),
            auth,
            delivery,
            phase: Phase::Closed,
            heartbeat: None,
            decoder: Decoder::default(),
            next_ack_id: 0,
            pending_acks: BTreeMap::new(),
            buffer: VecDeque::new(),
            queue: VecDeque::new(),
        }
    }

    /// Replaces the auth sent with the next CONNECT (the tutorial's `serverOffset`).
    pub fn set_auth(&mut self, auth: Option<serde_json::Value>) {
        self.auth = auth;
    }

    /// The socket id while connected.
    pub fn id(&self) -> Option<&str> {
        match &self.phase {
            Phase::Connected { sid } => Some(sid),
            _ => None,
        }
    }

    /// Whether the namespace accepted us and the connection is up.
    pub fn connected(&self) -> bool {
        matches!(self.phase, Phase::Connected { .. })
    }

    /// A new transport is opening: forget the previous session's partial state.
    pub fn transport_opened(&mut self) {
        self.phase = Phase::Closed;
        self.heartbeat = None;
        self.decoder = Decoder::default();
    }

    /// The transport delivered a frame.
    pub fn receive(&mut self, frame: Frame, now: f64) -> Vec<Output> {
        let mut out = Vec::new();
        match EnginePacket::decode(frame) {
            Ok(EnginePacket::Open(open)) => {
                self.heartbeat = Some(Heartbeat {
                    allowed_silence: (open.ping_interval + open.ping_timeout) as f64,
                    last_ping: now,
                });
                self.phase = Phase::Handshaking;
                let auth = self.auth.as_ref().and_then(|a| codec::auth_value(a).ok());
                out.extend(codec::encode(Packet::connect(self.namespace.clone(), auth)).into_iter().map(Output::Send));
            }
            Ok(EnginePacket::Ping) => {
                if let Some(h) = &mut self.heartbeat {
                    h.last_ping = now;
                }
                out.push(Output::Send(engine::pong()));
            }
            Ok(EnginePacket::Close) => self.lose_connection(DisconnectReason::TransportClose, &mut out),
            Ok(EnginePacket::Pong | EnginePacket::Noop) => {}
            Ok(EnginePacket::Message(text)) => {
                let decoded = self.decoder.text(text);
                self.on_decoded(decoded, now, &mut out);
            }
            Ok(EnginePacket::Binary(bytes)) => {
                let decoded = self.decoder.binary(bytes);
                self.on_decoded(decoded, now, &mut out);
            }
            Err(_) => self.lose_connection(DisconnectReason::ParseError, &mut out),
        }
        out
    }

    fn on_decoded(
        &mut self,
        decoded: Result<Decoded, socketioxide_core::parser::ParseError>,
        now: f64,
        out: &mut Vec<Output>,
    ) {
        match decoded {
            Ok(Decoded::Packet(packet)) if packet.ns == self.namespace.as_str() => {
                self.on_packet(packet.inner, now, out)
            }
            Ok(_) => {}
            Err(_) => self.lose_connection(DisconnectReason::ParseError, out),
        }
    }

    fn on_packet(&mut self, packet: PacketData, now: f64, out: &mut Vec<Output>) {
        match packet {
            PacketData::Connect(value) => {
                #[derive(serde::Deserialize)]
                struct Handshake {
                    sid: String,
                }
                let Ok(Handshake { sid }) = codec::decode_default::<Handshake>(value.as_ref()) else {
                    return self.lose_connection(DisconnectReason::ParseError, out);
                };
                self.phase = Phase::Connected { sid: sid.clone() };
                out.push(Output::Connected { sid });
                while let Some((name, packet)) = self.buffer.pop_front() {
                    let ack_id = match &packet.inner {
                        PacketData::Event(_, id) | PacketData::BinaryEvent(_, id) => *id,
                        _ => None,
                    };
                    self.send_event(name, packet, ack_id, out);
                }
                self.drain_queue(now, out);
            }
            PacketData::ConnectError(message) => {
                self.phase = Phase::Closed;
                self.heartbeat = None;
                out.push(Output::CloseTransport);
                out.push(Output::ConnectError(message));
            }
            PacketData::Disconnect => {
                self.lose_connection(DisconnectReason::IoServerDisconnect, out);
            }
            PacketData::Event(value, ack_id) | PacketData::BinaryEvent(value, ack_id) => {
                let Ok(name) = codec::event_name(&value).map(std::borrow::Cow::into_owned) else {
                    return;
                };
                out.push(Output::Event { name, payload: Payload { value, with_event: true }, ack_id });
            }
            PacketData::EventAck(value, id) | PacketData::BinaryAck(value, id) => {
                // An ack that already timed out, or that we never asked for, is ignored.
                let Some(pending) = self.pending_acks.remove(&id) else {
                    return;
                };
                let payload = Payload { value, with_event: false };
                if !pending.queued {
                    out.push(Output::Ack { id, result: Ok(payload) });
                } else if self.queue.front().is_some_and(|q| q.in_flight == Some(id)) {
                    let done = self.queue.pop_front().expect("front checked");
                    if done.wants_ack {
                        out.push(Output::Ack { id: done.id, result: Ok(payload) });
                    }
                    self.drain_queue(now, out);
                }
            }
        }
    }

    /// The transport closed (or failed) on its own.
    pub fn transport_closed(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        self.lose_connection(DisconnectReason::TransportClose, &mut out);
        out
    }

    fn lose_connection(&mut self, reason: DisconnectReason, out: &mut Vec<Output>) {
        self.phase = Phase::Closed;
        self.heartbeat = None;
        // The attempt in flight is sent again on reconnection, as a new try.
        if let Some(wire) = self.queue.front_mut().and_then(|q| q.in_flight.take()) {
            self.pending_acks.remove(&wire);
        }
        out.push(Output::CloseTransport);
        out.push(Output::Disconnected(reason));
    }

    fn new_ack_id(&mut self) -> i64 {
        let id = self.next_ack_id;
        self.next_ack_id += 1;
        id
    }

    fn deadline(&self, now: f64, timeout_ms: Option<f64>) -> Option<f64> {
        timeout_ms.or(self.delivery.ack_timeout_ms).map(|t| now + t)
    }

    /// Sends an EVENT packet, telling outgoing listeners first; `ack_id` is the caller's.
    fn send_event(&self, name: String, packet: Packet, ack_id: Option<i64>, out: &mut Vec<Output>) {
        if let PacketData::Event(value, _) | PacketData::BinaryEvent(value, _) = &packet.inner {
            out.push(Output::Outgoing { name, payload: Payload { value: value.clone(), with_event: true }, ack_id });
        }
        out.extend(codec::encode(packet).into_iter().map(Output::Send));
    }

    /// Sends the head of the retry queue if it is not in flight.
    fn drain_queue(&mut self, now: f64, out: &mut Vec<Output>) {
        if !self.connected() {
            return;
        }
        let wire = self.next_ack_id;
        let Some(head) = self.queue.front_mut().filter(|q| q.in_flight.is_none()) else {
            return;
        };
        head.tries += 1;
        head.in_flight = Some(wire);
        let (name, value, timeout) = (head.name.clone(), head.value.clone(), head.timeout_ms);
        let caller_id = head.wants_ack.then_some(head.id);
        self.next_ack_id += 1;
        let deadline = self.deadline(now, timeout);
        self.pending_acks.insert(wire, PendingAck { deadline, queued: true });
        let mut packet = Packet::event(self.namespace.clone(), value);
        packet.inner.set_ack_id(wire);
        self.send_event(name, packet, caller_id, out);
    }

    /// Emits `event` with `args` (a tuple spreads into several arguments).
    ///
    /// With `options.ack`, the returned id gets exactly one [`Output::Ack`]: the answer, or
    /// a timeout. While not connected the packet is buffered and sent on connection, in
    /// order (a volatile one is dropped). With retries ([`EmitOptions::retries`] or
    /// [`Delivery::retries`]), a non-volatile emit goes through the retry queue.
    pub fn emit<T: serde::Serialize + ?Sized>(
        &mut self,
        event: &str,
        args: &T,
        options: EmitOptions,
        now: f64,
    ) -> Result<(Option<i64>, Vec<Output>), ParserError> {
        Ok(self.emit_value(event, codec::event_value(event, args)?, options, now))
    }

    /// [`Core::emit`] of arguments already encoded (`[event, ...args]`). Not generic: one copy
    /// in the WASM, where each argument type would otherwise compile its own (only the
    /// encoding is per type).
    pub fn emit_value(
        &mut self,
        event: &str,
        value: Value,
        options: EmitOptions,
        now: f64,
    ) -> (Option<i64>, Vec<Output>) {
        let mut out = Vec::new();
        if let Some(retries) = options.retries.or(self.delivery.retries)
            && !options.volatile
        {
            let id = self.new_ack_id();
            self.queue.push_back(Queued {
                id,
                wants_ack: options.ack,
                name: event.to_owned(),
                value,
                timeout_ms: options.timeout_ms,
                tries: 0,
                retries,
                in_flight: None,
            });
            self.drain_queue(now, &mut out);
            return (options.ack.then_some(id), out);
        }
        if options.volatile && !self.connected() {
            return (None, out);
        }
        let mut packet = Packet::event(self.namespace.clone(), value);
        let ack_id = options.ack.then(|| {
            let id = self.new_ack_id();
            packet.inner.set_ack_id(id);
            let deadline = self.deadline(now, options.timeout_ms);
            self.pending_acks.insert(id, PendingAck { deadline, queued: false });
            id
        });
        if self.connected() {
            self.send_event(event.to_owned(), packet, ack_id, &mut out);
        } else {
            self.buffer.push_back((event.to_owned(), packet));
        }
        (ack_id, out)
    }

    /// Answers an event the server sent with an ack id.
    pub fn ack<T: serde::Serialize + ?Sized>(&mut self, ack_id: i64, args: &T) -> Result<Vec<Output>, ParserError> {
        let packet = Packet::ack(self.namespace.clone(), codec::ack_value(args)?, ack_id);
        Ok(if self.connected() { codec::encode(packet).into_iter().map(Output::Send).collect() } else { Vec::new() })
    }

    /// Leaves the namespace and closes the transport; no automatic reconnection.
    pub fn disconnect(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if self.connected() {
            out.extend(codec::encode(Packet::disconnect(self.namespace.clone())).into_iter().map(Output::Send));
        }
        self.lose_connection(DisconnectReason::IoClientDisconnect, &mut out);
        out
    }

    /// Fires ack timeouts, retries, and detects a silent server. Call it regularly.
    pub fn tick(&mut self, now: f64) -> Vec<Output> {
        let mut out = Vec::new();
        let expired: Vec<(i64, PendingAck)> = self
            .pending_acks
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(id, p)| (*id, *p))
            .collect();
        for (id, pending) in expired {
            self.pending_acks.remove(&id);
            if !pending.queued {
                out.push(Output::Ack { id, result: Err(AckTimeout) });
                continue;
            }
            let Some(head) = self.queue.front_mut().filter(|q| q.in_flight == Some(id)) else {
                continue;
            };
            head.in_flight = None;
            if head.tries > head.retries {
                let failed = self.queue.pop_front().expect("front checked");
                if failed.wants_ack {
                    out.push(Output::Ack { id: failed.id, result: Err(AckTimeout) });
                }
            }
            self.drain_queue(now, &mut out);
        }
        if let Some(h) = self.heartbeat
            && now - h.last_ping > h.allowed_silence
        {
            self.lose_connection(DisconnectReason::PingTimeout, &mut out);
        }
        out
    }

    /// Emits waiting: buffered while disconnected, plus the retry queue.
    pub fn waiting(&self) -> usize {
        self.buffer.len() + self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: &str = r#"0{"sid":"e1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;

    fn with_ack(timeout_ms: f64) -> EmitOptions {
        EmitOptions { ack: true, timeout_ms: Some(timeout_ms), ..EmitOptions::default() }
    }

    fn text(s: &str) -> Frame {
        Frame::Text(s.into())
    }

    fn sent(out: &[Output]) -> Vec<String> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send(Frame::Text(t)) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    fn connected_core() -> Core {
        connected_core_with(Delivery::default())
    }

    fn connected_core_with(delivery: Delivery) -> Core {
        let mut core = Core::new("/", Some(serde_json::json!({"serverOffset": 3})), delivery);
        core.transport_opened();
        let out = core.receive(text(OPEN), 0.0);
        assert_eq!(sent(&out), [r#"40{"serverOffset":3}"#]);
        let out = core.receive(text(r#"40{"sid":"s1"}"#), 0.0);
        assert!(matches!(&out[0], Output::Connected { sid } if sid == "s1"));
        core
    }

    #[test]
    fn connects_with_auth_and_answers_pings() {
        let mut core = connected_core();
        assert_eq!(core.id(), Some("s1"));
        assert_eq!(sent(&core.receive(text("2"), 10.0)), ["3"]);
    }

    #[test]
    fn an_ack_timeout_fires_once_and_a_late_ack_is_ignored() {
        let mut core = connected_core();
        let (id, out) = core.emit("request", &(1, "x"), with_ack(100.0), 0.0).unwrap();
        let id = id.unwrap();
        assert_eq!(sent(&out), [format!(r#"42{id}["request",1,"x"]"#)]);
        assert!(core.tick(99.0).is_empty());
        let out = core.tick(100.0);
        assert!(matches!(out.as_slice(), [Output::Ack { id: i, result: Err(AckTimeout) }] if *i == id));
        assert!(core.tick(150.0).is_empty());
        assert!(core.receive(text(&format!(r#"43{id}[{{"status":"ok"}}]"#)), 160.0).is_empty());
    }

    #[test]
    fn an_ack_in_time_is_delivered_once() {
        let mut core = connected_core();
        let (id, _) = core.emit("request", &("a",), with_ack(1000.0), 0.0).unwrap();
        let out = core.receive(text(&format!(r#"43{}[{{"status":"ok"}}]"#, id.unwrap())), 5.0);
        let [Output::Ack { result: Ok(payload), .. }] = out.as_slice() else { panic!("{out:?}") };
        let reply: serde_json::Value = payload.decode().unwrap();
        assert_eq!(reply["status"], "ok");
        assert!(core.tick(400.0).is_empty());
    }

    #[test]
    fn emits_while_disconnected_flush_in_order_on_connect() {
        let mut core = Core::new("/", None, Delivery::default());
        for i in 0..3 {
            let (_, out) = core.emit("chat message", &(format!("m{i}"),), EmitOptions::default(), 0.0).unwrap();
            assert!(out.is_empty());
        }
        let volatile = EmitOptions { volatile: true, ..EmitOptions::default() };
        core.emit("typing", &(), volatile, 0.0).unwrap();
        assert_eq!(core.waiting(), 3);
        core.transport_opened();
        core.receive(text(OPEN), 0.0);
        let out = core.receive(text(r#"40{"sid":"s2"}"#), 0.0);
        assert_eq!(
            sent(&out),
            [r#"42["chat message","m0"]"#, r#"42["chat message","m1"]"#, r#"42["chat message","m2"]"#]
        );
    }

    #[test]
    fn a_silent_server_is_a_ping_timeout() {
        let mut core = connected_core();
        assert!(core.tick(500.0).is_empty());
        let out = core.tick(501.0);
        assert!(out.iter().any(|o| matches!(o, Output::Disconnected(DisconnectReason::PingTimeout))));
        assert!(!core.connected());
    }

    #[test]
    fn events_connect_errors_and_server_disconnects_reach_the_caller() {
        let mut core = connected_core();
        let out = core.receive(text(r#"42["chat message","hi",4]"#), 1.0);
        let [Output::Event { name, payload, ack_id: None }] = out.as_slice() else { panic!("{out:?}") };
        assert_eq!(name, "chat message");
        assert_eq!(payload.decode::<(String, i64)>().unwrap(), ("hi".to_owned(), 4));
        let out = core.receive(text("41"), 2.0);
        assert!(out.iter().any(|o| matches!(o, Output::Disconnected(r) if !r.reconnects())));

        let mut refused = Core::new("/", None, Delivery::default());
        refused.transport_opened();
        refused.receive(text(OPEN), 0.0);
        let out = refused.receive(text(r#"44{"message":"not allowed"}"#), 0.0);
        assert!(out.iter().any(|o| matches!(o, Output::ConnectError(m) if m.contains("not allowed"))));
    }

    #[test]
    fn retries_resend_the_same_packet_until_acknowledged_then_move_on() {
        let mut core = connected_core_with(Delivery { ack_timeout_ms: Some(100.0), retries: Some(2) });
        let (first, out) =
            core.emit("chat message", &("a", "k-0"), EmitOptions { ack: true, ..EmitOptions::default() }, 0.0).unwrap();
        // Ids: 0 is the caller's, 1 the first attempt's on the wire.
        assert_eq!(sent(&out), [r#"421["chat message","a","k-0"]"#]);
        // The second waits for the first.
        let (_, out) = core.emit("chat message", &("b", "k-1"), EmitOptions::default(), 0.0).unwrap();
        assert!(sent(&out).is_empty());
        // No ack in time: the same packet again, with a new ack id.
        assert_eq!(sent(&core.tick(100.0)), [r#"423["chat message","a","k-0"]"#]);
        // The stale ack id is ignored; the current one completes the first emit.
        assert!(core.receive(text(r#"431[{"status":"ok"}]"#), 110.0).is_empty());
        let out = core.receive(text(r#"433[{"status":"ok"}]"#), 120.0);
        assert!(matches!(&out[0], Output::Ack { id, result: Ok(_) } if Some(*id) == first));
        assert_eq!(sent(&out), [r#"424["chat message","b","k-1"]"#]);
    }

    #[test]
    fn retries_give_up_after_the_last_try_and_report_one_timeout() {
        let mut core = connected_core_with(Delivery { ack_timeout_ms: Some(50.0), retries: Some(1) });
        let (id, _) =
            core.emit("chat message", &("a",), EmitOptions { ack: true, ..EmitOptions::default() }, 0.0).unwrap();
        core.emit("chat message", &("b",), EmitOptions::default(), 0.0).unwrap();
        assert_eq!(sent(&core.tick(50.0)).len(), 1, "second try");
        let out = core.tick(100.0);
        assert!(matches!(&out[0], Output::Ack { id: i, result: Err(AckTimeout) } if Some(*i) == id));
        assert_eq!(sent(&out), [r#"424["chat message","b"]"#], "then the next packet");
        assert_eq!(core.waiting(), 1);
    }

    #[test]
    fn a_packet_in_flight_is_sent_again_after_a_reconnection() {
        let mut core = connected_core_with(Delivery { ack_timeout_ms: Some(1000.0), retries: Some(3) });
        core.emit("chat message", &("a",), EmitOptions::default(), 0.0).unwrap();
        core.transport_closed();
        assert!(sent(&core.tick(5000.0)).is_empty(), "nothing is sent while disconnected");
        core.transport_opened();
        core.receive(text(OPEN), 6000.0);
        let out = core.receive(text(r#"40{"sid":"s3"}"#), 6000.0);
        assert_eq!(sent(&out), [r#"422["chat message","a"]"#]);
    }

    #[test]
    fn outgoing_events_are_reported_when_sent() {
        let mut core = Core::new("/", None, Delivery::default());
        let (_, out) = core.emit("hello", &(1,), EmitOptions::default(), 0.0).unwrap();
        assert!(out.is_empty(), "buffered, not sent yet");
        core.transport_opened();
        core.receive(text(OPEN), 0.0);
        let out = core.receive(text(r#"40{"sid":"s4"}"#), 0.0);
        let [Output::Connected { .. }, Output::Outgoing { name, payload, ack_id: None }, Output::Send(_)] =
            out.as_slice()
        else {
            panic!("{out:?}")
        };
        assert_eq!(name, "hello");
        assert_eq!(payload.decode::<(i32,)>().unwrap(), (1,));
    }
}
