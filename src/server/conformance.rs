//! Conformance mode (`socket-chat --conformance`): exactly what the official Socket.IO
//! protocol test suite (github.com/socketio/socket.io-protocol, `test-suite/`) expects of a
//! server, and nothing else. `scripts/conformance.sh` runs that suite against it.
//!
//! The suite speaks raw Engine.IO and Socket.IO to `http://localhost:3000` (WebSocket frames
//! and long-polling requests) and compares the packets that come back byte for byte. The
//! server it expects, from the protocol's README, is:
//!
//! - on `/` and `/custom`: on connection, emit [`AUTH`] with the handshake's auth (`{}`
//!   when the CONNECT packet has none);
//! - on `/`: [`MESSAGE`] is emitted back as [`MESSAGE_BACK`] with the same arguments, and
//!   [`MESSAGE_WITH_ACK`] is acknowledged with the same arguments; binary arguments go back
//!   as binary attachments ([`Args`]);
//! - pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1 000 000 bytes, connectTimeout
//!   1 000 ms (the suite checks the first three in the handshake and all four by waiting);
//! - CORS open to any origin (the suite also runs in a browser, from its `index.html`).
//!
//! It is a server of its own ([`serve`]): no store, no pages, none of the chat's handlers.
//! On `/` those would send events the suite does not expect (the replay's `chat message`s,
//! `presence:...`), and their limits answer in the chat's error envelope where the suite
//! wants its echo. What the chat's hostile-input defences (README, "Limits and security")
//! become here, and why:
//!
//! - **Origin allowlist**: not mounted. Run from its `index.html` the suite's `Origin` is
//!   `null` (a `file://` page), which the allowlist refuses; the reference server allows
//!   any origin.
//! - **WebSocket message and frame size, polling payload** (64 KiB in the chat): all three
//!   are [`MAX_PAYLOAD`], the 1 000 000 the handshake must announce, so the announced
//!   limit is the one enforced.
//! - **Binary attachments per packet**: the chat's default bound (10) is kept; the suite
//!   sends two. Their total size is bounded by [`MAX_PAYLOAD`] too.
//! - **Arguments per event, rate limits, connections per IP**: not mounted. They are the
//!   chat's policy, not the protocol's: the reference server echoes whatever it gets, and
//!   the suite opens some thirty connections from one address in a few seconds.
//! - **Packets queued per socket**: socketioxide's default (128); the suite never has more
//!   than a few in flight.
//!
//! Malformed packets are refused by socketioxide itself, as in the chat: the suite checks
//! that an unknown packet type, a payload that is not an array and an ack id that is not
//! a number each close the connection, and that an unknown namespace gets a CONNECT error.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::{ParserConfig, SocketIo};
use tokio::net::TcpListener;
use tower_http::cors::CorsLayer;
use tracing::info;

use super::outgoing;

/// Milliseconds between pings (the suite's `PING_INTERVAL`).
pub const PING_INTERVAL: Duration = Duration::from_millis(300);
/// How long a client has to answer a ping (the suite's `PING_TIMEOUT`).
pub const PING_TIMEOUT: Duration = Duration::from_millis(200);
/// How long a client may take to join a namespace after opening its connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
/// Largest payload, in bytes: announced in the handshake as `maxPayload` and enforced on
/// polling payloads and WebSocket messages alike.
pub const MAX_PAYLOAD: u64 = 1_000_000;
/// Most binary attachments in one packet (the chat's default).
const MAX_BINARY_ATTACHMENTS: usize = 10;

/// The second namespace the suite joins.
pub const CUSTOM_NAMESPACE: &str = "/custom";
/// Server to client, on connection to `/` or [`CUSTOM_NAMESPACE`]: the handshake's auth.
/// Wire: `42["auth",{"token":"123"}]`.
pub const AUTH: &str = "auth";
/// Client to server on `/`, echoed as [`MESSAGE_BACK`]. Wire: `42["message",1,"2"]`.
pub const MESSAGE: &str = "message";
/// Server to client: the arguments of a [`MESSAGE`], unchanged.
/// Wire: `42["message-back",1,"2"]`, or with attachments `452-["message-back",{"_placeholder":true,"num":0},...]`.
pub const MESSAGE_BACK: &str = "message-back";
/// Client to server on `/`, acknowledged with its own arguments.
/// Wire: `42456["message-with-ack",1,"2"]`, answered `43456[1,"2"]`.
pub const MESSAGE_WITH_ACK: &str = "message-with-ack";

/// Every argument of an event, in order, whatever their number and types; binary
/// attachments stay bytes (`rmpv::Value::Binary`) so that they go back out as attachments,
/// and objects keep their keys' order (which `serde_json::Value` would sort).
///
/// It reads and writes itself as a tuple: socketioxide gives a tuple type all of an event's
/// arguments (any other type gets the first only), and spreads a tuple back into arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Args(pub Vec<rmpv::Value>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Each;
        impl<'de> Visitor<'de> for Each {
            type Value = Args;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the arguments of an event")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Args, S::Error> {
                let mut args = Vec::new();
                while let Some(arg) = seq.next_element()? {
                    args.push(arg);
                }
                Ok(Args(args))
            }
        }
        // Any length: serde_json reads a tuple as a sequence and does not check its length.
        deserializer.deserialize_tuple(usize::MAX, Each)
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for arg in &self.0 {
            tuple.serialize_element(arg)?;
        }
        tuple.end()
    }
}

/// `/`: sends the auth back, then echoes [`MESSAGE`] and [`MESSAGE_WITH_ACK`].
async fn on_connect_main(socket: SocketRef, Data(auth): Data<rmpv::Value>) {
    // Before the `auth` packet: the suite may send its next packet as soon as it has it.
    socket.on(MESSAGE, on_message);
    socket.on(MESSAGE_WITH_ACK, on_message_with_ack);
    send_auth(&socket, &auth).await;
}

/// [`CUSTOM_NAMESPACE`]: sends the auth back, nothing more.
async fn on_connect_custom(socket: SocketRef, Data(auth): Data<rmpv::Value>) {
    send_auth(&socket, &auth).await;
}

async fn send_auth(socket: &SocketRef, auth: &rmpv::Value) {
    // A failure means the socket is gone; `outgoing` logs it.
    let _ = outgoing::emit(socket, AUTH, auth).await;
}

/// [`MESSAGE`]: the same arguments back, as [`MESSAGE_BACK`].
async fn on_message(socket: SocketRef, Data(args): Data<Args>) {
    let _ = outgoing::emit(&socket, MESSAGE_BACK, &args).await;
}

/// [`MESSAGE_WITH_ACK`]: acknowledged with the same arguments.
async fn on_message_with_ack(ack: AckSender, Data(args): Data<Args>) {
    outgoing::ack(ack, &args);
}

/// The router and the Socket.IO handle (kept for shutdown) of conformance mode.
pub fn router() -> (Router, SocketIo) {
    let (socket_layer, io) = SocketIo::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .max_payload(MAX_PAYLOAD)
        .ws_max_message_size(MAX_PAYLOAD as usize)
        .ws_max_frame_size(MAX_PAYLOAD as usize)
        .with_parser(
            ParserConfig::common()
                .max_incoming_binaries(MAX_BINARY_ATTACHMENTS)
                .max_incoming_binary_buf_size(MAX_PAYLOAD as usize),
        )
        .build_layer();
    io.ns("/", on_connect_main);
    io.ns(CUSTOM_NAMESPACE, on_connect_custom);
    // CORS outside Socket.IO, so that its answers carry the headers too.
    let router = Router::new().layer(socket_layer).layer(CorsLayer::permissive());
    (router, io)
}

/// Serves conformance mode on a listener the caller bound until `shutdown` completes.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let (router, io) = router();
    let addr: SocketAddr = listener.local_addr()?;
    // The same line as the chat's: tests and scripts read it to find the port.
    info!("conformance mode (the Socket.IO protocol test suite's server): listening on http://{addr}");
    axum::serve(super::no_delay(listener), router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            info!("shutting down");
            io.close().await;
        })
        .await?;
    info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use socketioxide_core::parser::Parse;
    use socketioxide_parser_common::CommonParser;

    /// Decodes an event's data as socketioxide's `Data<Args>` does, and encodes it back.
    fn echo(data: &str, attachments: Vec<&'static [u8]>) -> socketioxide_core::Value {
        let binaries =
            (!attachments.is_empty()).then(|| attachments.into_iter().map(bytes::Bytes::from_static).collect());
        let mut value = socketioxide_core::Value::Str(data.to_owned().into(), binaries);
        let args: Args = CommonParser.decode_value(&mut value, true).expect("the arguments");
        CommonParser.encode_value(&args, Some(MESSAGE_BACK)).expect("encodable")
    }

    #[test]
    fn every_argument_goes_back_unchanged_in_order() {
        let back = echo(r#"["message",1,"2",{"3":[true]},{"b":null,"a":-1.5}]"#, vec![]);
        assert_eq!(
            back.as_str().map(|s| s.as_str()),
            Some(r#"["message-back",1,"2",{"3":[true]},{"b":null,"a":-1.5}]"#)
        );
        assert_eq!(echo(r#"["message"]"#, vec![]).as_str().map(|s| s.as_str()), Some(r#"["message-back"]"#));
    }

    #[test]
    fn binary_arguments_go_back_as_attachments() {
        let back = echo(
            r#"["message",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]"#,
            vec![&[1, 2, 3], &[4, 5, 6]],
        );
        let socketioxide_core::Value::Str(text, Some(binaries)) = back else { panic!("attachments: {back:?}") };
        assert_eq!(
            text.as_str(),
            r#"["message-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]"#
        );
        assert_eq!(binaries.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), vec![vec![1, 2, 3], vec![4, 5, 6]]);
    }
}
