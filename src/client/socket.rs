//! [`Socket`]: the application's handle on one Socket.IO connection.
//!
//! It drives the [`Core`] with a transport and timers from an [`Environment`]: the browser's
//! (`web_sys::WebSocket`, `setTimeout`) in the app, a scripted one in native tests.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use super::backoff::Backoff;
use super::core::{AckTimeout, Core, DisconnectReason, Output, Payload};
use super::engine::Frame;

/// An open (or opening) transport.
pub trait Transport {
    /// Sends one frame.
    fn send(&self, frame: Frame);
    /// Closes the connection; no more events are delivered after this.
    fn close(&self);
}

/// A pending timer; dropping it cancels it.
pub trait Timer {}

/// What the socket needs from the platform.
pub trait Environment: 'static {
    /// Opens a transport to `url`, reporting what happens to `sink`.
    fn open(&self, url: &str, sink: TransportSink) -> Box<dyn Transport>;
    /// Calls `callback` after `ms` milliseconds unless the returned timer is dropped first.
    fn set_timeout(&self, ms: u32, callback: Box<dyn FnOnce()>) -> Box<dyn Timer>;
    /// Milliseconds on a monotonic clock.
    fn now(&self) -> f64;
    /// Uniform in `[0, 1)`, for the reconnection jitter.
    fn random(&self) -> f64;
}

/// Where a transport reports; events from a replaced transport are ignored.
#[derive(Clone)]
pub struct TransportSink {
    socket: Weak<Inner>,
    generation: u64,
}

impl TransportSink {
    fn with(&self, f: impl FnOnce(&Socket)) {
        if let Some(inner) = self.socket.upgrade()
            && inner.generation.get() == self.generation
        {
            f(&Socket(inner));
        }
    }

    /// The connection is open.
    pub fn opened(&self) {
        self.with(|s| s.inner().core.borrow_mut().transport_opened());
    }

    /// A frame arrived.
    pub fn frame(&self, frame: Frame) {
        self.with(|s| {
            let now = s.inner().env.now();
            let out = s.inner().core.borrow_mut().receive(frame, now);
            s.run(out);
        });
    }

    /// The connection closed or failed.
    pub fn closed(&self) {
        self.with(|s| {
            let out = s.inner().core.borrow_mut().transport_closed();
            s.run(out);
        });
    }
}

/// Options of a [`Socket`], defaults as socket.io-client's.
#[derive(Debug, Clone)]
pub struct SocketOptions {
    /// The server's WebSocket URL up to the Engine.IO path, e.g. `ws://host/socket.io/`.
    pub url: String,
    /// Namespace, `/` by default.
    pub namespace: String,
    /// Sent with every CONNECT; change it with [`Socket::set_auth`].
    pub auth: Option<serde_json::Value>,
    /// Reconnect by itself after a lost connection.
    pub reconnection: bool,
    /// Reconnection delays.
    pub backoff: Backoff,
}

impl SocketOptions {
    /// Options for `url` with every default.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), namespace: "/".into(), auth: None, reconnection: true, backoff: Backoff::default() }
    }
}

/// Where the connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connected; the socket id.
    Connected(String),
    /// First connection in progress.
    Connecting,
    /// Waiting before reconnection attempt `attempt`, `delay_ms` from when it was scheduled.
    Reconnecting {
        /// 1 for the first retry.
        attempt: u32,
        /// The delay chosen.
        delay_ms: u32,
    },
    /// Not connected and not trying.
    Disconnected(String),
}

impl ConnectionState {
    /// `connected` or `disconnected`, as the status badge shows it.
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected(_))
    }
}

type Listener = Rc<dyn Fn(&Payload, Option<i64>)>;
type AckCallback = Box<dyn FnOnce(Result<Payload, AckTimeout>)>;

struct Inner {
    env: Box<dyn Environment>,
    options: RefCell<SocketOptions>,
    core: RefCell<Core>,
    transport: RefCell<Option<Box<dyn Transport>>>,
    /// Bumped for every transport, so a replaced one's late events are ignored.
    generation: Cell<u64>,
    listeners: RefCell<HashMap<String, Vec<(u64, Listener)>>>,
    state_listeners: RefCell<Vec<(u64, Rc<dyn Fn(&ConnectionState)>)>>,
    next_listener_id: Cell<u64>,
    acks: RefCell<HashMap<i64, AckCallback>>,
    state: RefCell<ConnectionState>,
    backoff: RefCell<Backoff>,
    reconnect_timer: RefCell<Option<Box<dyn Timer>>>,
    tick_timer: RefCell<Option<Box<dyn Timer>>>,
}

/// A Socket.IO client socket. Cheap to clone; all clones are the same socket.
#[derive(Clone)]
pub struct Socket(Rc<Inner>);

/// Removes its listener when dropped; [`forget`](Self::forget) keeps the listener for good.
#[must_use = "the listener is removed when this guard is dropped"]
pub struct ListenerGuard {
    socket: Weak<Inner>,
    id: u64,
}

impl ListenerGuard {
    /// Keeps the listener for the socket's whole life.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.socket.upgrade() {
            for list in inner.listeners.borrow_mut().values_mut() {
                list.retain(|(id, _)| *id != self.id);
            }
            inner.state_listeners.borrow_mut().retain(|(id, _)| *id != self.id);
        }
    }
}

/// How often the socket checks ack deadlines and the server's heartbeat.
const TICK_MS: u32 = 100;

impl Socket {
    /// A socket that is not connected yet: call [`connect`](Self::connect).
    pub fn new(options: SocketOptions, env: impl Environment) -> Self {
        let core = Core::new(options.namespace.clone(), options.auth.clone());
        Self(Rc::new(Inner {
            env: Box::new(env),
            backoff: RefCell::new(options.backoff.clone()),
            options: RefCell::new(options),
            core: RefCell::new(core),
            transport: RefCell::new(None),
            generation: Cell::new(0),
            listeners: RefCell::default(),
            state_listeners: RefCell::default(),
            next_listener_id: Cell::new(0),
            acks: RefCell::default(),
            state: RefCell::new(ConnectionState::Disconnected("not connected yet".into())),
            reconnect_timer: RefCell::new(None),
            tick_timer: RefCell::new(None),
        }))
    }

    fn inner(&self) -> &Inner {
        &self.0
    }

    /// Opens the connection (again, after [`disconnect`](Self::disconnect)).
    pub fn connect(&self) {
        self.inner().reconnect_timer.replace(None);
        if !matches!(&*self.inner().state.borrow(), ConnectionState::Reconnecting { .. }) {
            self.set_state(ConnectionState::Connecting);
        }
        self.open_transport();
        self.schedule_tick();
    }

    fn open_transport(&self) {
        let inner = self.inner();
        if let Some(old) = inner.transport.take() {
            old.close();
        }
        inner.generation.set(inner.generation.get() + 1);
        let sink = TransportSink { socket: Rc::downgrade(&self.0), generation: inner.generation.get() };
        let url = inner.options.borrow().url.clone();
        let transport = inner.env.open(&url, sink);
        inner.transport.replace(Some(transport));
    }

    /// Leaves the namespace and closes the connection; buffered emits wait for `connect`.
    pub fn disconnect(&self) {
        self.inner().reconnect_timer.replace(None);
        let out = self.inner().core.borrow_mut().disconnect();
        self.run(out);
    }

    /// Replaces the auth sent on the next (re)connection.
    pub fn set_auth(&self, auth: Option<serde_json::Value>) {
        self.inner().core.borrow_mut().set_auth(auth.clone());
        self.inner().options.borrow_mut().auth = auth;
    }

    /// The socket id while connected.
    pub fn id(&self) -> Option<String> {
        self.inner().core.borrow().id().map(str::to_owned)
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.inner().core.borrow().connected()
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        self.inner().state.borrow().clone()
    }

    fn next_id(&self) -> u64 {
        let id = self.inner().next_listener_id.get();
        self.inner().next_listener_id.set(id + 1);
        id
    }

    /// Calls `listener` with the arguments of every `event` from the server.
    pub fn on(&self, event: &str, listener: impl Fn(&Payload) + 'static) -> ListenerGuard {
        self.on_with_ack(event, move |payload, _| listener(payload))
    }

    /// Like [`on`](Self::on), also passing the ack id when the server asked for an answer
    /// (answer with [`ack`](Self::ack)).
    pub fn on_with_ack(&self, event: &str, listener: impl Fn(&Payload, Option<i64>) + 'static) -> ListenerGuard {
        let id = self.next_id();
        self.inner().listeners.borrow_mut().entry(event.to_owned()).or_default().push((id, Rc::new(listener)));
        ListenerGuard { socket: Rc::downgrade(&self.0), id }
    }

    /// Calls `listener` with every change of [`ConnectionState`].
    pub fn on_state(&self, listener: impl Fn(&ConnectionState) + 'static) -> ListenerGuard {
        let id = self.next_id();
        self.inner().state_listeners.borrow_mut().push((id, Rc::new(listener)));
        ListenerGuard { socket: Rc::downgrade(&self.0), id }
    }

    /// Emits `event` with `args` (a tuple spreads into several arguments). While
    /// disconnected, the packet waits and is sent in order on reconnection.
    pub fn emit<T: serde::Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), super::codec::ParserError> {
        let (_, out) = self.inner().core.borrow_mut().emit(event, args, None)?;
        self.run(out);
        Ok(())
    }

    /// Emits with an acknowledgement: `callback` gets the server's answer, or
    /// [`AckTimeout`] after `timeout_ms` (never, with `None`). It is called exactly once.
    pub fn emit_with_ack<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        timeout_ms: Option<u32>,
        callback: impl FnOnce(Result<Payload, AckTimeout>) + 'static,
    ) -> Result<(), super::codec::ParserError> {
        let deadline = timeout_ms.map_or(f64::INFINITY, |ms| self.inner().env.now() + f64::from(ms));
        let (id, out) = self.inner().core.borrow_mut().emit(event, args, Some(deadline))?;
        if let Some(id) = id {
            self.inner().acks.borrow_mut().insert(id, Box::new(callback));
        }
        self.run(out);
        Ok(())
    }

    /// Answers an event the server sent with an ack id.
    pub fn ack<T: serde::Serialize + ?Sized>(&self, ack_id: i64, args: &T) -> Result<(), super::codec::ParserError> {
        let out = self.inner().core.borrow_mut().ack(ack_id, args)?;
        self.run(out);
        Ok(())
    }

    fn set_state(&self, state: ConnectionState) {
        self.inner().state.replace(state.clone());
        let listeners: Vec<_> = self.inner().state_listeners.borrow().iter().map(|(_, l)| l.clone()).collect();
        for listener in listeners {
            listener(&state);
        }
    }

    fn schedule_tick(&self) {
        let weak = Rc::downgrade(&self.0);
        let timer = self.inner().env.set_timeout(
            TICK_MS,
            Box::new(move || {
                if let Some(inner) = weak.upgrade() {
                    let socket = Socket(inner);
                    let now = socket.inner().env.now();
                    let out = socket.inner().core.borrow_mut().tick(now);
                    socket.run(out);
                    socket.schedule_tick();
                }
            }),
        );
        self.inner().tick_timer.replace(Some(timer));
    }

    /// Carries out what the core asked, with no borrow held while user callbacks run.
    fn run(&self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send(frame) => {
                    if let Some(t) = &*self.inner().transport.borrow() {
                        t.send(frame);
                    }
                }
                Output::CloseTransport => {
                    let transport = self.inner().transport.take();
                    self.inner().generation.set(self.inner().generation.get() + 1);
                    if let Some(t) = transport {
                        t.close();
                    }
                }
                Output::Connected { sid } => {
                    self.inner().backoff.borrow_mut().reset();
                    self.set_state(ConnectionState::Connected(sid));
                }
                Output::ConnectError(message) => {
                    self.set_state(ConnectionState::Disconnected(format!("refused: {message}")));
                }
                Output::Event { name, payload, ack_id } => {
                    let listeners: Vec<Listener> = self
                        .inner()
                        .listeners
                        .borrow()
                        .get(&name)
                        .map(|l| l.iter().map(|(_, f)| f.clone()).collect())
                        .unwrap_or_default();
                    for listener in listeners {
                        listener(&payload, ack_id);
                    }
                }
                Output::Ack { id, result } => {
                    let callback = self.inner().acks.borrow_mut().remove(&id);
                    if let Some(callback) = callback {
                        callback(result);
                    }
                }
                Output::Disconnected(reason) => self.on_disconnected(reason),
            }
        }
    }

    fn on_disconnected(&self, reason: DisconnectReason) {
        if !reason.reconnects() || !self.inner().options.borrow().reconnection {
            self.set_state(ConnectionState::Disconnected(reason.as_str().into()));
            return;
        }
        let random = self.inner().env.random();
        let (attempt, delay_ms) = {
            let mut backoff = self.inner().backoff.borrow_mut();
            let delay = backoff.next_delay(random);
            (backoff.attempts(), delay)
        };
        self.set_state(ConnectionState::Reconnecting { attempt, delay_ms });
        let weak = Rc::downgrade(&self.0);
        let timer = self.inner().env.set_timeout(
            delay_ms,
            Box::new(move || {
                if let Some(inner) = weak.upgrade() {
                    Socket(inner).open_transport();
                }
            }),
        );
        self.inner().reconnect_timer.replace(Some(timer));
    }
}
