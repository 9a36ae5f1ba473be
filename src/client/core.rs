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
    /// We are no longer connected.
    Disconnected(DisconnectReason),
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

/// The protocol state of one socket on one namespace.
#[derive(Debug)]
pub struct Core {
    namespace: String,
    auth: Option<serde_json::Value>,
    phase: Phase,
    heartbeat: Option<Heartbeat>,
    decoder: Decoder,
    next_ack_id: i64,
    /// Ack ids awaiting an answer, with their deadline (None: no timeout).
    pending_acks: BTreeMap<i64, Option<f64>>,
    /// Packets emitted while not connected, sent in order on connection.
    buffer: VecDeque<Packet>,
}

impl Core {
    /// A socket for `namespace` (`"/"` for the main one), not yet connected.
    pub fn new(namespace: impl Into<String>, auth: Option<serde_json::Value>) -> Self {
        Self {
            namespace: namespace.into(),
            auth,
            phase: Phase::Closed,
            heartbeat: None,
            decoder: Decoder::default(),
            next_ack_id: 0,
            pending_acks: BTreeMap::new(),
            buffer: VecDeque::new(),
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
                self.on_decoded(decoded, &mut out);
            }
            Ok(EnginePacket::Binary(bytes)) => {
                let decoded = self.decoder.binary(bytes);
                self.on_decoded(decoded, &mut out);
            }
            Err(_) => self.lose_connection(DisconnectReason::ParseError, &mut out),
        }
        out
    }

    fn on_decoded(&mut self, decoded: Result<Decoded, socketioxide_core::parser::ParseError>, out: &mut Vec<Output>) {
        match decoded {
            Ok(Decoded::Packet(packet)) if packet.ns == self.namespace.as_str() => self.on_packet(packet.inner, out),
            Ok(_) => {}
            Err(_) => self.lose_connection(DisconnectReason::ParseError, out),
        }
    }

    fn on_packet(&mut self, packet: PacketData, out: &mut Vec<Output>) {
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
                while let Some(packet) = self.buffer.pop_front() {
                    out.extend(codec::encode(packet).into_iter().map(Output::Send));
                }
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
                let Ok(name) = codec::event_name(&value).map(str::to_owned) else {
                    return;
                };
                out.push(Output::Event { name, payload: Payload { value, with_event: true }, ack_id });
            }
            PacketData::EventAck(value, id) | PacketData::BinaryAck(value, id) => {
                // An ack that already timed out, or that we never asked for, is ignored.
                if self.pending_acks.remove(&id).is_some() {
                    out.push(Output::Ack { id, result: Ok(Payload { value, with_event: false }) });
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
        out.push(Output::CloseTransport);
        out.push(Output::Disconnected(reason));
    }

    /// Emits `event` with `args` (a tuple spreads into several arguments). With
    /// `ack_deadline` `Some(deadline)`, an ack is requested and the returned id will get
    /// exactly one [`Output::Ack`]: the answer, or a timeout once `deadline` has passed
    /// (`Some(f64::INFINITY)` waits forever). While not connected, the packet is buffered
    /// and sent on connection, in order.
    pub fn emit<T: serde::Serialize + ?Sized>(
        &mut self,
        event: &str,
        args: &T,
        ack_deadline: Option<f64>,
    ) -> Result<(Option<i64>, Vec<Output>), ParserError> {
        let mut packet = Packet::event(self.namespace.clone(), codec::event_value(event, args)?);
        let ack_id = ack_deadline.map(|deadline| {
            let id = self.next_ack_id;
            self.next_ack_id += 1;
            packet.inner.set_ack_id(id);
            self.pending_acks.insert(id, deadline.is_finite().then_some(deadline));
            id
        });
        let out = if self.connected() {
            codec::encode(packet).into_iter().map(Output::Send).collect()
        } else {
            self.buffer.push_back(packet);
            Vec::new()
        };
        Ok((ack_id, out))
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

    /// Fires ack timeouts and detects a silent server. Call it regularly.
    pub fn tick(&mut self, now: f64) -> Vec<Output> {
        let mut out = Vec::new();
        let expired: Vec<i64> = self
            .pending_acks
            .iter()
            .filter(|(_, deadline)| deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.pending_acks.remove(&id);
            out.push(Output::Ack { id, result: Err(AckTimeout) });
        }
        if let Some(h) = self.heartbeat
            && now - h.last_ping > h.allowed_silence
        {
            self.lose_connection(DisconnectReason::PingTimeout, &mut out);
        }
        out
    }

    /// Number of emits buffered while disconnected.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: &str = r#"0{"sid":"e1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;

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
        let mut core = Core::new("/", Some(serde_json::json!({"serverOffset": 3})));
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
        let (id, out) = core.emit("request", &(1, "x"), Some(100.0)).unwrap();
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
        let (id, _) = core.emit("request", &("a",), Some(1000.0)).unwrap();
        let out = core.receive(text(&format!(r#"43{}[{{"status":"ok"}}]"#, id.unwrap())), 5.0);
        let [Output::Ack { result: Ok(payload), .. }] = out.as_slice() else { panic!("{out:?}") };
        let reply: serde_json::Value = payload.decode().unwrap();
        assert_eq!(reply["status"], "ok");
        assert!(core.tick(400.0).is_empty());
    }

    #[test]
    fn emits_while_disconnected_flush_in_order_on_connect() {
        let mut core = Core::new("/", None);
        for i in 0..3 {
            let (_, out) = core.emit("chat message", &(format!("m{i}"),), None).unwrap();
            assert!(out.is_empty());
        }
        assert_eq!(core.buffered(), 3);
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

        let mut refused = Core::new("/", None);
        refused.transport_opened();
        refused.receive(text(OPEN), 0.0);
        let out = refused.receive(text(r#"44{"message":"not allowed"}"#), 0.0);
        assert!(out.iter().any(|o| matches!(o, Output::ConnectError(m) if m.contains("not allowed"))));
    }
}
