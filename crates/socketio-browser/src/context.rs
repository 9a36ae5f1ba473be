//! The socket in a Leptos app (feature `leptos`): created once, shared through context,
//! its state a signal.
//!
//! Outside the browser (server-side rendering) no socket exists: [`SocketContext::socket`]
//! is `None`, the state stays `Connecting`, and components need no `cfg`.

use leptos::prelude::*;
use send_wrapper::SendWrapper;

pub use crate::socket::ConnectionState;
use crate::socket::{Socket, SocketOptions};

/// What [`provide_socket`] puts in context. `Copy`, so closures can capture it.
#[derive(Clone, Copy)]
pub struct SocketContext {
    /// `None` on the server, so nothing thread-bound is ever created (or dropped) there;
    /// in the browser there is one thread and the wrapper never complains.
    socket: StoredValue<Option<SendWrapper<Socket>>>,
    /// The connection state, updated live.
    pub state: ReadSignal<ConnectionState>,
}

impl SocketContext {
    /// The socket (`None` during server-side rendering).
    pub fn socket(&self) -> Option<Socket> {
        self.socket.with_value(|s| s.as_deref().cloned())
    }

    /// Runs `f` with the socket, in the browser only.
    pub fn with<R>(&self, f: impl FnOnce(&Socket) -> R) -> Option<R> {
        self.socket.with_value(|s| s.as_deref().map(f))
    }

    /// Listens to `event` for as long as the calling component lives.
    pub fn on(&self, event: &'static str, listener: impl Fn(&crate::Payload) + 'static) {
        if let Some(guard) = self.with(|s| s.on(event, listener)) {
            // Dropped, so removed, when the component's owner is cleaned up.
            let guard = SendWrapper::new(guard);
            on_cleanup(move || drop(guard));
        }
    }
}

impl SocketContext {
    /// The latest arguments of `event` as a signal (`None` until the first one), for as
    /// long as the calling component lives.
    pub fn signal(&self, event: &'static str) -> ReadSignal<Option<crate::Payload>> {
        let (latest, set_latest) = signal(None);
        self.on(event, move |payload| set_latest.set(Some(payload.clone())));
        latest
    }
}

/// Creates the app's socket (in the browser) and provides it to every component below.
/// `options` is called only in the browser; it may read `window.location`.
pub fn provide_socket(options: impl FnOnce() -> Option<SocketOptions>) -> SocketContext {
    let (state, set_state) = signal(ConnectionState::Connecting);
    let socket = create_socket(options, set_state);
    let context = SocketContext { socket: StoredValue::new(socket.map(SendWrapper::new)), state };
    provide_context(context);
    // Boxed as the app's effects are (`socket_chat::ui::effect`): one copy of Leptos' effect
    // machinery for every effect of the page.
    Effect::new(Box::new(move || {
        context.with(Socket::connect);
    }) as Box<dyn FnMut()>);
    context
}

#[cfg(all(feature = "browser", target_arch = "wasm32"))]
fn create_socket(
    options: impl FnOnce() -> Option<SocketOptions>,
    set_state: WriteSignal<ConnectionState>,
) -> Option<Socket> {
    let socket = Socket::new(options()?, crate::browser::BrowserEnvironment);
    socket.on_state(move |s| set_state.set(s.clone())).forget();
    // The app's socket lives as long as the page: so does following the network.
    std::mem::forget(crate::browser::NetworkWatch::new(&socket));
    Some(socket)
}

#[cfg(not(all(feature = "browser", target_arch = "wasm32")))]
fn create_socket(
    _options: impl FnOnce() -> Option<SocketOptions>,
    _set_state: WriteSignal<ConnectionState>,
) -> Option<Socket> {
    None
}

/// The socket provided by an ancestor's [`provide_socket`].
pub fn use_socket() -> SocketContext {
    expect_context::<SocketContext>()
}
