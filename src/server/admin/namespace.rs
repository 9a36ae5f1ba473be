//! An admin connects to `/admin`: it gets its session, the server's `config`, in
//! development mode every socket (`all_sockets`), and the statistics right away.

use std::sync::atomic::Ordering;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State};
use socketioxide::socket::DisconnectReason;
use tracing::{debug, info};

use super::auth::NewSession;
use super::{Admin, hooks, stats};
use crate::protocol::events::admin as events;

/// On an admin socket counted among the watchers (until it disconnects).
#[derive(Clone)]
struct Watching;

/// The connect handler of `/admin` (after [`super::auth::login`] and
/// [`super::commands::register`]).
pub async fn on_connect<A: Adapter>(socket: SocketRef<A>, State(admin): State<Admin<A>>) {
    socket.on_disconnect(on_disconnect::<A>);
    // Counted first, so the watch keeps looking from the look below on.
    socket.extensions.insert(Watching);
    admin.0.ready.fetch_add(1, Ordering::Relaxed);
    hooks::count_watcher(true);
    if let Some(NewSession(id)) = socket.extensions.get::<NewSession>() {
        send(&socket, events::SESSION, &id);
    }
    send(&socket, events::CONFIG, &admin.config());
    // Under the watch's lock: what changed before is told to the others first, then this
    // admin starts from the same state, so it is told each later change once.
    let sockets = admin.watch().look(&admin, admin.development());
    if admin.development() {
        send(&socket, events::ALL_SOCKETS, &(sockets,));
    }
    // Into the room of the watching admins, after what was told before this look.
    admin.start_watching(socket.clone());
    // The package waits for the next 2-second tick; this admin sees the servers at once.
    send(&socket, events::SERVER_STATS, &stats::stats(&admin, Vec::new()));
    info!(sid = %socket.id, "admin watching");
}

async fn on_disconnect<A: Adapter>(socket: SocketRef<A>, reason: DisconnectReason, State(admin): State<Admin<A>>) {
    if socket.extensions.remove::<Watching>().is_some() {
        admin.0.ready.fetch_sub(1, Ordering::Relaxed);
        hooks::count_watcher(false);
    }
    // The admins see each other, as in the package (`/admin` is a namespace like the others).
    admin.watch().disconnected(&admin, socket.ns(), &socket.id.to_string(), hooks::reason_text(reason));
    debug!(sid = %socket.id, %reason, "admin left");
}

fn send<A: Adapter, T: serde::Serialize + ?Sized>(socket: &SocketRef<A>, event: &str, data: &T) {
    if let Err(e) = socket.emit(event, data) {
        debug!(sid = %socket.id, event, error = %e, "admin event not sent");
    }
}
