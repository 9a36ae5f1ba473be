//! Who is who: sessions, nicknames, and a room per user (as in Socket.IO's private-messaging
//! example).
//!
//! A socket that gives a known session id in its handshake auth is that session's user;
//! one without is anonymous (the tutorial's clients are): it reads and chats, and becomes
//! someone by choosing a nickname (`user:nickname`), which creates its session. Every
//! socket of a user is in the room [`room`]`(user_id)`, so a private message reaches every
//! tab of both users.

use sha2::{Digest, Sha256};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use tracing::{info, warn};

use super::{AppState, outgoing, presence};
use crate::protocol::user::{is_id, nickname};
use crate::protocol::{AckError, AckErrorCode, AckReply, HandshakeAuth, Identity, UserInfo, events};

/// The user behind a socket, kept in its extensions.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Who.
    pub user: UserInfo,
    /// The session's secret (only ever sent back to this session's own sockets).
    pub session_id: String,
}

/// The socketioxide room of every socket of `user_id`.
pub fn room(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// The user behind `socket`, if it has a session.
pub fn current<A: Adapter>(socket: &SocketRef<A>) -> Option<UserInfo> {
    socket.extensions.get::<CurrentUser>().map(|c| c.user)
}

/// The SHA-256 of a session id, in hex: what the database keeps.
pub fn session_hash(session_id: &str) -> String {
    Sha256::digest(session_id.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random id: 32 hex digits (128 bits from the OS).
fn new_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Before the CONNECT is answered: finds the user of the handshake's session id. An
/// unknown or malformed one leaves the socket anonymous (the client learns it from
/// [`events::SESSION`] and may choose a nickname again).
pub async fn identify<A: Adapter>(socket: &SocketRef<A>, auth: &HandshakeAuth, state: &AppState) {
    let Some(session_id) = auth.session_id.as_deref().filter(|id| is_id(id)) else { return };
    match state.store.user_by_session(&session_hash(session_id)).await {
        // The socket joins the user's room when it goes live (the writer), after its replay.
        Ok(Some(user)) => {
            socket.extensions.insert(CurrentUser { user, session_id: session_id.to_owned() });
        }
        Ok(None) => {}
        Err(e) => warn!(sid = %socket.id, error = %e, "cannot look up a session"),
    }
}

/// `user:nickname`: chooses a nickname (creating the session of an anonymous socket) or
/// changes it. The ack carries the [`Identity`]; everyone hears [`events::USER_RENAMED`].
pub async fn on_nickname<A: Adapter>(
    io: SocketIo<A>,
    socket: SocketRef<A>,
    TryData(name): TryData<String>,
    ack: AckSender<A>,
    State(state): State<AppState>,
) {
    match set_nickname(&io, &socket, name, &state).await {
        Ok(identity) => {
            // The ack first: the page knows who it is before it hears of itself.
            let user = identity.user.clone();
            outgoing::ack(ack, &AckReply::Ok { data: identity });
            outgoing::broadcast(io.broadcast(), events::USER_RENAMED, &user).await;
            presence::changed(&io, &state).await;
        }
        Err(error) => outgoing::ack(ack, &AckReply::<Identity>::from(error)),
    }
}

async fn set_nickname<A: Adapter>(
    io: &SocketIo<A>,
    socket: &SocketRef<A>,
    name: Result<String, socketioxide::ParserError>,
    state: &AppState,
) -> Result<Identity, AckError> {
    let name = name.map_err(|_| AckError {
        code: AckErrorCode::InvalidArguments,
        message: "expected a nickname (a string)".into(),
    })?;
    let name = nickname(&name)?;
    let unavailable = |e: &dyn std::fmt::Display| {
        warn!(sid = %socket.id, error = %e, "cannot save a nickname");
        AckError { code: AckErrorCode::Unavailable, message: "the nickname could not be saved, try again".into() }
    };
    match socket.extensions.get::<CurrentUser>() {
        Some(CurrentUser { user, session_id }) => {
            let user = UserInfo { nickname: name, ..user };
            state.store.rename_user(&user).await.map_err(|e| unavailable(&e))?;
            // Every tab of this user is now called so.
            for tab in io.to(room(&user.user_id)).sockets() {
                if let Some(mut current) = tab.extensions.get::<CurrentUser>() {
                    current.user = user.clone();
                    tab.extensions.insert(current);
                }
            }
            state.presence.renamed(&user);
            Ok(Identity { session_id, user })
        }
        None => {
            let (session_id, user_id) =
                (new_id().map_err(|e| unavailable(&e))?, new_id().map_err(|e| unavailable(&e))?);
            let user = UserInfo { user_id, nickname: name };
            state.store.create_user(&user, &session_hash(&session_id)).await.map_err(|e| unavailable(&e))?;
            info!(user = %user.user_id, "new user");
            socket.join(room(&user.user_id));
            socket.extensions.insert(CurrentUser { user: user.clone(), session_id: session_id.clone() });
            state.presence.arrived(socket);
            Ok(Identity { session_id, user })
        }
    }
}
