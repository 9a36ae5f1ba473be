//! [`Socket`]: the application's handle on one Socket.IO connection.
//!
//! It drives the [`Core`] with a transport and timers from an [`Environment`]: the browser's
//! (`web_sys::WebSocket`, `setTimeout`) in the app, a scripted one in native tests.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use std::future::Future;

use super::backoff::Backoff;
use super::codec::{self, ParserError};
use super::core::{AckTimeout, Core, Delivery, DisconnectReason, EmitOptions, Output, Payload};
use super::engine::Frame;
use socketioxide_core::Value;

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
    /// Default ack timeout and retries (client delivery).
    pub delivery: Delivery,
}

impl SocketOptions {
    /// These options with `auth` sent with every CONNECT. Fails only if `auth` is not
    /// representable as JSON.
    pub fn with_auth<T: serde::Serialize + ?Sized>(mut self, auth: &T) -> Result<Self, serde_json::Error> {
        self.auth = Some(serde_json::to_value(auth)?);
        Ok(self)
    }

    /// Options for `url` with every default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            namespace: "/".into(),
            auth: None,
            reconnection: true,
            backoff: Backoff::default(),
            delivery: Delivery::default(),
        }
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
type AnyListener = dyn Fn(&str, &Payload);
type StateListener = dyn Fn(&ConnectionState);
type Inspector = dyn Fn(&Traffic<'_>);

/// Listeners of one kind, each with the id its guard removes it by.
struct Listeners<L: ?Sized>(RefCell<Vec<(u64, Rc<L>)>>);

impl<L: ?Sized> Default for Listeners<L> {
    fn default() -> Self {
        Self(RefCell::new(Vec::new()))
    }
}

impl<L: ?Sized> Listeners<L> {
    fn add(&self, id: u64, listener: Rc<L>) {
        self.0.borrow_mut().push((id, listener));
    }

    fn remove(&self, id: u64) {
        self.0.borrow_mut().retain(|(l, _)| *l != id);
    }

    fn clear(&self) {
        self.0.borrow_mut().clear();
    }

    /// The listeners now, so that they run with no borrow held (they may add or remove).
    fn snapshot(&self) -> Vec<Rc<L>> {
        self.0.borrow().iter().map(|(_, l)| l.clone()).collect()
    }
}

/// Everything that crosses the socket, for developer tools such as an event log
/// ([`Socket::inspect`]). Ack ids are the ones [`Traffic::Out`] announced.
#[derive(Debug)]
pub enum Traffic<'a> {
    /// An event from the server; `ack_id` when it asks for an answer.
    In {
        /// Event name.
        name: &'a str,
        /// Its arguments.
        payload: &'a Payload,
        /// Set when the server asked for an ack.
        ack_id: Option<i64>,
    },
    /// An event sent to the server (when it is actually sent).
    Out {
        /// Event name.
        name: &'a str,
        /// Its arguments.
        payload: &'a Payload,
        /// Set when we asked for an ack.
        ack_id: Option<i64>,
    },
    /// The answer to our ack `id`, or its timeout.
    Ack {
        /// The id [`Traffic::Out`] announced.
        id: i64,
        /// The answer.
        result: &'a Result<Payload, AckTimeout>,
    },
}
type AckCallback = Box<dyn FnOnce(Result<Payload, AckTimeout>)>;

/// Why an emit with an ack did not get its answer.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// No answer in time.
    #[error(transparent)]
    Timeout(#[from] AckTimeout),
    /// The arguments could not be encoded.
    #[error("cannot encode the arguments: {0}")]
    Encode(#[from] ParserError),
    /// The socket was dropped before the answer came.
    #[error("the socket was dropped")]
    SocketDropped,
}

struct Inner {
    env: Box<dyn Environment>,
    options: RefCell<SocketOptions>,
    core: RefCell<Core>,
    transport: RefCell<Option<Box<dyn Transport>>>,
    /// Bumped for every transport, so a replaced one's late events are ignored.
    generation: Cell<u64>,
    listeners: RefCell<HashMap<String, Vec<(u64, Listener)>>>,
    any_listeners: Listeners<AnyListener>,
    outgoing_listeners: Listeners<AnyListener>,
    state_listeners: Listeners<StateListener>,
    inspectors: Listeners<Inspector>,
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
            inner.remove_listener(self.id);
        }
    }
}

impl Inner {
    fn remove_listener(&self, id: u64) {
        for list in self.listeners.borrow_mut().values_mut() {
            list.retain(|(l, _)| *l != id);
        }
        self.any_listeners.remove(id);
        self.outgoing_listeners.remove(id);
        self.state_listeners.remove(id);
        self.inspectors.remove(id);
    }
}

/// How often the socket checks ack deadlines and the server's heartbeat.
const TICK_MS: u32 = 100;

impl Socket {
    /// A socket that is not connected yet: call [`connect`](Self::connect).
    pub fn new(options: SocketOptions, env: impl Environment) -> Self {
        let core = Core::new(options.namespace.clone(), options.auth.clone(), options.delivery);
        Self(Rc::new(Inner {
            env: Box::new(env),
            backoff: RefCell::new(options.backoff.clone()),
            options: RefCell::new(options),
            core: RefCell::new(core),
            transport: RefCell::new(None),
            generation: Cell::new(0),
            listeners: RefCell::default(),
            any_listeners: Listeners::default(),
            outgoing_listeners: Listeners::default(),
            state_listeners: Listeners::default(),
            inspectors: Listeners::default(),
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

    /// The device lost its network: drop the connection now instead of waiting for the
    /// heartbeat to time out (a browser keeps a dead WebSocket open for a while).
    pub fn network_lost(&self) {
        if self.inner().transport.borrow().is_some() {
            let out = self.inner().core.borrow_mut().transport_closed();
            self.run(out);
        }
    }

    /// The device has a network again: reconnect now rather than at the end of the delay.
    pub fn network_back(&self) {
        if matches!(&*self.inner().state.borrow(), ConnectionState::Reconnecting { .. }) {
            self.inner().reconnect_timer.replace(None);
            self.open_transport();
        }
    }

    /// Replaces the auth sent on the next (re)connection (the tutorial's
    /// `socket.auth.serverOffset = …`). Fails only if `auth` is not representable as JSON.
    pub fn set_auth<T: serde::Serialize + ?Sized>(&self, auth: &T) -> Result<(), serde_json::Error> {
        let auth = Some(serde_json::to_value(auth)?);
        self.inner().core.borrow_mut().set_auth(auth.clone());
        self.inner().options.borrow_mut().auth = auth;
        Ok(())
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
        self.guard(id)
    }

    /// Calls `listener` with the next `event` only.
    pub fn once(&self, event: &str, listener: impl FnOnce(&Payload) + 'static) -> ListenerGuard {
        let id = self.next_id();
        let listener = RefCell::new(Some(listener));
        let weak = Rc::downgrade(&self.0);
        let wrapper: Listener = Rc::new(move |payload, _| {
            if let Some(listener) = listener.borrow_mut().take() {
                if let Some(inner) = weak.upgrade() {
                    inner.remove_listener(id);
                }
                listener(payload);
            }
        });
        self.inner().listeners.borrow_mut().entry(event.to_owned()).or_default().push((id, wrapper));
        self.guard(id)
    }

    /// Removes every listener of `event` (including those whose guards are still alive).
    pub fn off(&self, event: &str) {
        self.inner().listeners.borrow_mut().remove(event);
    }

    /// Calls `listener` with the name and arguments of every incoming event (`onAny`).
    pub fn on_any(&self, listener: impl Fn(&str, &Payload) + 'static) -> ListenerGuard {
        let id = self.next_id();
        self.inner().any_listeners.add(id, Rc::new(listener));
        self.guard(id)
    }

    /// Removes every [`on_any`](Self::on_any) listener (`offAny`).
    pub fn off_any(&self) {
        self.inner().any_listeners.clear();
    }

    /// Calls `listener` with every outgoing event, when it is actually sent
    /// (`onAnyOutgoing`): a buffered emit is reported on reconnection, each retry again.
    pub fn on_any_outgoing(&self, listener: impl Fn(&str, &Payload) + 'static) -> ListenerGuard {
        let id = self.next_id();
        self.inner().outgoing_listeners.add(id, Rc::new(listener));
        self.guard(id)
    }

    /// Removes every [`on_any_outgoing`](Self::on_any_outgoing) listener (`offAnyOutgoing`).
    pub fn off_any_outgoing(&self) {
        self.inner().outgoing_listeners.clear();
    }

    /// Calls `listener` with every change of [`ConnectionState`].
    pub fn on_state(&self, listener: impl Fn(&ConnectionState) + 'static) -> ListenerGuard {
        let id = self.next_id();
        self.inner().state_listeners.add(id, Rc::new(listener));
        self.guard(id)
    }

    /// Calls `inspector` with every event in and out and every ack outcome (for an event
    /// log; the application's own listeners are [`on`](Self::on) and friends).
    pub fn inspect(&self, inspector: impl Fn(&Traffic<'_>) + 'static) -> ListenerGuard {
        let id = self.next_id();
        self.inner().inspectors.add(id, Rc::new(inspector));
        self.guard(id)
    }

    fn notify_inspectors(&self, traffic: Traffic<'_>) {
        for inspector in self.inner().inspectors.snapshot() {
            inspector(&traffic);
        }
    }

    fn guard(&self, id: u64) -> ListenerGuard {
        ListenerGuard { socket: Rc::downgrade(&self.0), id }
    }

    /// Emits `event` with `args` (a tuple spreads into several arguments). While
    /// disconnected, the packet waits and is sent in order on reconnection.
    pub fn emit<T: serde::Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), ParserError> {
        self.emitter().emit(event, args)
    }

    /// An emit with an ack timeout, as socket.io-client's `socket.timeout(ms)`.
    pub fn timeout(&self, ms: u32) -> Emitter<'_> {
        self.emitter().timeout(ms)
    }

    /// An emit dropped rather than buffered while disconnected (`socket.volatile`).
    pub fn volatile(&self) -> Emitter<'_> {
        self.emitter().volatile()
    }

    /// An emit with default options, to configure.
    pub fn emitter(&self) -> Emitter<'_> {
        Emitter { socket: self, timeout_ms: None, volatile: false, retries: None }
    }

    /// Answers an event the server sent with an ack id.
    pub fn ack<T: serde::Serialize + ?Sized>(&self, ack_id: i64, args: &T) -> Result<(), ParserError> {
        let out = self.inner().core.borrow_mut().ack(ack_id, args)?;
        self.run(out);
        Ok(())
    }

    fn emit_with(
        &self,
        event: &str,
        args: &(impl serde::Serialize + ?Sized),
        options: EmitOptions,
        callback: Option<AckCallback>,
    ) -> Result<(), ParserError> {
        self.emit_value_with(event, codec::event_value(event, args)?, options, callback);
        Ok(())
    }

    /// The part of an emit that does not depend on the arguments' type: one copy in the WASM.
    fn emit_value_with(&self, event: &str, value: Value, options: EmitOptions, callback: Option<AckCallback>) {
        let now = self.inner().env.now();
        let (id, out) = self.inner().core.borrow_mut().emit_value(event, value, options, now);
        if let (Some(id), Some(callback)) = (id, callback) {
            self.inner().acks.borrow_mut().insert(id, callback);
        }
        self.run(out);
    }

    fn set_state(&self, state: ConnectionState) {
        self.inner().state.replace(state.clone());
        for listener in self.inner().state_listeners.snapshot() {
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
                Output::Outgoing { name, payload, ack_id } => {
                    self.notify_inspectors(Traffic::Out { name: &name, payload: &payload, ack_id });
                    for listener in self.inner().outgoing_listeners.snapshot() {
                        listener(&name, &payload);
                    }
                }
                Output::Event { name, payload, ack_id } => {
                    self.notify_inspectors(Traffic::In { name: &name, payload: &payload, ack_id });
                    for listener in self.inner().any_listeners.snapshot() {
                        listener(&name, &payload);
                    }
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
                    self.notify_inspectors(Traffic::Ack { id, result: &result });
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

/// One emit's options, built from [`Socket::timeout`], [`Socket::volatile`] or
/// [`Socket::emitter`]; finished by one of its `emit` methods.
#[must_use = "nothing is sent until an emit method is called"]
pub struct Emitter<'a> {
    socket: &'a Socket,
    timeout_ms: Option<u32>,
    volatile: bool,
    retries: Option<u32>,
}

impl Emitter<'_> {
    /// Gives up waiting for the ack after `ms` milliseconds.
    pub fn timeout(mut self, ms: u32) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    /// Drops the event rather than buffering it while disconnected; never retried.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Client delivery for this emit: through the retry queue, sent again (same arguments)
    /// on each ack timeout and after a reconnection, up to `retries` extra times, one
    /// packet in flight at a time (see [`Delivery`](crate::Delivery)). The callback or
    /// future gets the first answer, or one [`AckTimeout`] once every try timed out.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    fn options(&self, ack: bool) -> EmitOptions {
        EmitOptions { ack, timeout_ms: self.timeout_ms.map(f64::from), volatile: self.volatile, retries: self.retries }
    }

    /// Emits without asking for an ack.
    pub fn emit<T: serde::Serialize + ?Sized>(self, event: &str, args: &T) -> Result<(), ParserError> {
        self.socket.emit_with(event, args, self.options(false), None)
    }

    /// Emits asking for an ack; `callback` gets the answer or [`AckTimeout`], exactly once
    /// (the tutorial's callback flavour).
    pub fn emit_with_callback<T: serde::Serialize + ?Sized>(
        self,
        event: &str,
        args: &T,
        callback: impl FnOnce(Result<Payload, AckTimeout>) + 'static,
    ) -> Result<(), ParserError> {
        self.socket.emit_with(event, args, self.options(true), Some(Box::new(callback)))
    }

    /// Emits asking for an ack and resolves to the answer (the tutorial's `emitWithAck`).
    pub fn emit_with_ack<T: serde::Serialize + ?Sized>(
        self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<Payload, AckError>> + 'static {
        let (tx, rx) = futures_channel::oneshot::channel();
        let sent = self.socket.emit_with(
            event,
            args,
            self.options(true),
            Some(Box::new(move |result| {
                let _ = tx.send(result);
            })),
        );
        async move {
            sent?;
            match rx.await {
                Ok(result) => result.map_err(AckError::from),
                Err(_) => Err(AckError::SocketDropped),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The socket driven by a scripted environment: a fake transport that records frames,
    //! and a manual clock whose timers fire when the test advances it.
    use super::*;
    use std::task::{Context, Poll, Waker};

    type ScheduledTimer = (f64, u64, Option<Box<dyn FnOnce()>>);

    #[derive(Default)]
    struct World {
        now: Cell<f64>,
        sent: RefCell<Vec<String>>,
        opened: Cell<u32>,
        sink: RefCell<Option<TransportSink>>,
        /// (due time, id, callback)
        timers: RefCell<Vec<ScheduledTimer>>,
        next_timer: Cell<u64>,
        cancelled: RefCell<Vec<u64>>,
    }

    #[derive(Clone, Default)]
    struct Fake(Rc<World>);

    struct FakeTransport(Rc<World>);
    impl Transport for FakeTransport {
        fn send(&self, frame: Frame) {
            if let Frame::Text(t) = frame {
                self.0.sent.borrow_mut().push(t);
            }
        }
        fn close(&self) {}
    }

    struct FakeTimer(Rc<World>, u64);
    impl Timer for FakeTimer {}
    impl Drop for FakeTimer {
        fn drop(&mut self) {
            self.0.cancelled.borrow_mut().push(self.1);
        }
    }

    impl Environment for Fake {
        fn open(&self, _url: &str, sink: TransportSink) -> Box<dyn Transport> {
            self.0.opened.set(self.0.opened.get() + 1);
            self.0.sink.replace(Some(sink));
            Box::new(FakeTransport(self.0.clone()))
        }
        fn set_timeout(&self, ms: u32, callback: Box<dyn FnOnce()>) -> Box<dyn Timer> {
            let id = self.0.next_timer.get();
            self.0.next_timer.set(id + 1);
            self.0.timers.borrow_mut().push((self.0.now.get() + f64::from(ms), id, Some(callback)));
            Box::new(FakeTimer(self.0.clone(), id))
        }
        fn now(&self) -> f64 {
            self.0.now.get()
        }
        fn random(&self) -> f64 {
            0.5
        }
    }

    impl Fake {
        /// Moves the clock forward, firing due timers that were not cancelled.
        fn advance(&self, ms: f64) {
            let end = self.0.now.get() + ms;
            loop {
                let due = {
                    let mut timers = self.0.timers.borrow_mut();
                    timers.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let cancelled = self.0.cancelled.borrow();
                    timers.retain(|t| !cancelled.contains(&t.1));
                    match timers.first() {
                        Some(t) if t.0 <= end => Some(timers.remove(0)),
                        _ => None,
                    }
                };
                let Some((at, _, callback)) = due else { break };
                self.0.now.set(at);
                if let Some(callback) = callback {
                    callback();
                }
            }
            self.0.now.set(end);
        }

        fn sink(&self) -> TransportSink {
            self.0.sink.borrow().clone().expect("a transport was opened")
        }

        /// The server side of a handshake.
        fn accept(&self, sid: &str) {
            let sink = self.sink();
            sink.opened();
            sink.frame(Frame::Text(r#"0{"sid":"e","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#.into()));
            sink.frame(Frame::Text(format!(r#"40{{"sid":"{sid}"}}"#)));
        }

        fn take_sent(&self) -> Vec<String> {
            std::mem::take(&mut *self.0.sent.borrow_mut())
        }
    }

    fn socket(fake: &Fake) -> Socket {
        Socket::new(SocketOptions::new("ws://test/socket.io/"), fake.clone())
    }

    #[test]
    fn reconnects_with_backoff_and_flushes_the_buffer_in_order() {
        let fake = Fake::default();
        let socket = socket(&fake);
        let states = Rc::new(RefCell::new(Vec::new()));
        let seen = states.clone();
        socket.on_state(move |s| seen.borrow_mut().push(s.clone())).forget();
        socket.connect();
        fake.accept("a");
        assert!(socket.connected());

        fake.sink().closed();
        assert_eq!(states.borrow().last(), Some(&ConnectionState::Reconnecting { attempt: 1, delay_ms: 1000 }));
        socket.emit("chat message", &("one",)).unwrap();
        socket.emit("chat message", &("two",)).unwrap();
        socket.volatile().emit("typing", &()).unwrap();
        fake.take_sent();

        fake.advance(999.0);
        assert_eq!(fake.0.opened.get(), 1, "not before the delay");
        fake.advance(1.0);
        assert_eq!(fake.0.opened.get(), 2);
        // The server is still down: the next delay doubles.
        fake.sink().closed();
        assert_eq!(states.borrow().last(), Some(&ConnectionState::Reconnecting { attempt: 2, delay_ms: 2000 }));
        fake.advance(2000.0);
        fake.accept("b");
        assert_eq!(socket.id().as_deref(), Some("b"));
        let sent = fake.take_sent();
        assert_eq!(&sent[1..], [r#"42["chat message","one"]"#, r#"42["chat message","two"]"#]);
    }

    #[test]
    fn the_network_going_and_coming_back_reconnects_at_once() {
        let fake = Fake::default();
        let socket = socket(&fake);
        socket.connect();
        fake.accept("a");
        socket.network_lost();
        assert!(matches!(socket.state(), ConnectionState::Reconnecting { .. }));
        socket.network_back();
        assert_eq!(fake.0.opened.get(), 2, "no waiting for the backoff delay");
        fake.accept("b");
        assert_eq!(socket.id().as_deref(), Some("b"));
        // Nothing to do when the user disconnected on purpose.
        socket.disconnect();
        socket.network_lost();
        socket.network_back();
        assert_eq!(fake.0.opened.get(), 2);
    }

    #[test]
    fn a_server_disconnect_is_final() {
        let fake = Fake::default();
        let socket = socket(&fake);
        socket.connect();
        fake.accept("a");
        fake.sink().frame(Frame::Text("41".into()));
        assert_eq!(socket.state(), ConnectionState::Disconnected("io server disconnect".into()));
        fake.advance(60_000.0);
        assert_eq!(fake.0.opened.get(), 1);
    }

    #[test]
    fn listeners_once_off_any_and_guards() {
        let fake = Fake::default();
        let socket = socket(&fake);
        socket.connect();
        fake.accept("a");
        let log = Rc::new(RefCell::new(Vec::<String>::new()));
        let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
        let guard = socket.on("news", move |p| l1.borrow_mut().push(format!("on:{}", p.decode::<String>().unwrap())));
        socket.once("news", move |_| l2.borrow_mut().push("once".into())).forget();
        socket.on_any(move |name, _| l3.borrow_mut().push(format!("any:{name}"))).forget();
        socket.on_any_outgoing(move |name, _| l4.borrow_mut().push(format!("out:{name}"))).forget();

        fake.sink().frame(Frame::Text(r#"42["news","a"]"#.into()));
        fake.sink().frame(Frame::Text(r#"42["news","b"]"#.into()));
        drop(guard);
        fake.sink().frame(Frame::Text(r#"42["news","c"]"#.into()));
        socket.emit("hello", &()).unwrap();
        socket.off_any();
        fake.sink().frame(Frame::Text(r#"42["news","d"]"#.into()));
        assert_eq!(*log.borrow(), ["any:news", "on:a", "once", "any:news", "on:b", "any:news", "out:hello"]);
    }

    #[test]
    fn both_ack_flavours_and_a_timeout() {
        let fake = Fake::default();
        let socket = socket(&fake);
        socket.connect();
        fake.accept("a");
        fake.take_sent();

        let got = Rc::new(RefCell::new(Vec::new()));
        let g = got.clone();
        socket
            .timeout(5000)
            .emit_with_callback("request", &(serde_json::json!({"foo": "bar"}), "baz"), move |r| {
                g.borrow_mut().push(r.map(|p| p.decode::<serde_json::Value>().unwrap()["status"].clone()));
            })
            .unwrap();
        let mut future = Box::pin(socket.timeout(5000).emit_with_ack("request2", &(1,)));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        assert_eq!(fake.take_sent(), [r#"420["request",{"foo":"bar"},"baz"]"#, r#"421["request2",1]"#]);

        fake.sink().frame(Frame::Text(r#"430[{"status":"ok"}]"#.into()));
        assert_eq!(*got.borrow(), [Ok(serde_json::json!("ok"))]);
        fake.advance(5000.0);
        let Poll::Ready(Err(AckError::Timeout(_))) = future.as_mut().poll(&mut cx) else {
            panic!("the promise flavour must time out")
        };
        fake.sink().frame(Frame::Text(r#"431[{"status":"late"}]"#.into()));
        assert_eq!(got.borrow().len(), 1, "a late ack is ignored");
    }
}
