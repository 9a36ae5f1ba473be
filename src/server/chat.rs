//! Socket.IO handlers of the chat: connection (with replay) and `chat message`.
//!
//! Order inside a handler: validate, persist, ack, broadcast.

use std::time::Duration;

use socketioxide::SendError;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide_core::adapter::errors::SocketError;
use tracing::{debug, warn};

use super::AppState;
use super::store::Inserted;
use crate::protocol::{AckErrorCode, AckReply, HandshakeAuth, SendMessageArgs, SentMessage, events};

/// Messages read from the store per query while replaying.
const REPLAY_PAGE: u32 = 500;

/// A socket connected to `/`: register its handlers, then replay what it missed.
pub async fn on_connect(socket: SocketRef, TryData(auth): TryData<HandshakeAuth>, State(state): State<AppState>) {
    debug!(sid = %socket.id, "connected");
    socket.on(events::CHAT_MESSAGE, on_chat_message);
    // A malformed or absent auth is not fatal: the client simply gets no replay.
    if let Some(offset) = auth.ok().and_then(|a| a.server_offset) {
        replay(&socket, &state, offset).await;
    }
}

/// Server delivery: emits every stored message after `offset`, oldest first.
async fn replay(socket: &SocketRef, state: &AppState, mut offset: i64) {
    loop {
        let page = match state.store.after(offset, REPLAY_PAGE).await {
            Ok(page) => page,
            Err(e) => {
                warn!(sid = %socket.id, error = %e, "replay failed");
                return;
            }
        };
        for message in &page {
            if emit_waiting(socket, events::CHAT_MESSAGE, &message.broadcast_args()).await.is_err() {
                return;
            }
            offset = message.server_offset;
        }
        if page.len() < REPLAY_PAGE as usize {
            return;
        }
    }
}

/// Emits to one socket, waiting while its outgoing buffer is full instead of dropping the
/// packet: a replay can be far longer than the buffer. Gives up when the socket is gone.
async fn emit_waiting<T: serde::Serialize + ?Sized>(
    socket: &SocketRef,
    event: &str,
    data: &T,
) -> Result<(), SendError> {
    loop {
        match socket.emit(event, data) {
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            other => return other,
        }
    }
}

/// `chat message`: validate, store once per client offset, ack, broadcast to everyone.
pub async fn on_chat_message(
    io: SocketIo,
    socket: SocketRef,
    TryData(args): TryData<SendMessageArgs>,
    ack: AckSender,
    State(state): State<AppState>,
) {
    let reply = match validate(args, state.config.max_message_bytes) {
        Err(reply) => reply,
        Ok((content, client_offset)) => match state.store.insert(&content, client_offset.as_deref()).await {
            Ok(Inserted::New(message)) => {
                let reply =
                    AckReply::Ok { data: SentMessage { server_offset: message.server_offset, duplicate: false } };
                send_ack(ack, &reply);
                if let Err(e) = io.emit(events::CHAT_MESSAGE, &message.broadcast_args()).await {
                    warn!(error = %e, "broadcast failed");
                }
                return;
            }
            Ok(Inserted::Duplicate(server_offset)) => {
                AckReply::Ok { data: SentMessage { server_offset, duplicate: true } }
            }
            Err(e) => {
                warn!(sid = %socket.id, error = %e, "storing a message failed");
                AckReply::error(AckErrorCode::Unavailable, "the message could not be stored, try again")
            }
        },
    };
    send_ack(ack, &reply);
}

/// Checks the arguments of `chat message`; on failure, the reply to send.
fn validate(
    args: Result<SendMessageArgs, socketioxide::ParserError>,
    max_bytes: usize,
) -> Result<(String, Option<String>), AckReply<SentMessage>> {
    let args = args.map_err(|e| {
        AckReply::error(AckErrorCode::InvalidArguments, format!("expected (content, clientOffset): {e}"))
    })?;
    let serde_json::Value::String(content) = args.content else {
        return Err(AckReply::error(AckErrorCode::InvalidArguments, "the message must be a string"));
    };
    if content.trim().is_empty() {
        return Err(AckReply::error(AckErrorCode::Empty, "the message is empty"));
    }
    if content.len() > max_bytes {
        return Err(AckReply::error(
            AckErrorCode::TooLong,
            format!("the message is {} bytes long, the limit is {max_bytes}", content.len()),
        ));
    }
    Ok((content, args.client_offset))
}

/// Sends an ack if the client asked for one (the tutorial's clients may not).
fn send_ack<T: serde::Serialize>(ack: AckSender, reply: &AckReply<T>) {
    if let Err(e) = ack.send(reply) {
        debug!(error = %e, "ack not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(content: serde_json::Value) -> Result<SendMessageArgs, socketioxide::ParserError> {
        Ok(SendMessageArgs { content, client_offset: Some("c".into()) })
    }

    fn code(r: Result<(String, Option<String>), AckReply<SentMessage>>) -> AckErrorCode {
        match r {
            Err(AckReply::Error { error }) => error.code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn rejects_empty_long_and_non_string_messages() {
        assert_eq!(code(validate(args("  ".into()), 10)), AckErrorCode::Empty);
        assert_eq!(code(validate(args("é".repeat(6).into()), 10)), AckErrorCode::TooLong);
        assert_eq!(code(validate(args(42.into()), 10)), AckErrorCode::InvalidArguments);
        assert_eq!(validate(args("hello".into()), 10).unwrap().0, "hello");
    }
}
