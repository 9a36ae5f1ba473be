//! What every server test needs: a real server on a port the OS picks, with a fresh SQLite
//! database, and our own Socket.IO client running natively against it.
//!
//! The client (`socketio-browser`) drives its protocol core through an [`Environment`]; in
//! the browser that is `web_sys::WebSocket` and gloo-timers, here it is [`Native`]: a
//! tokio-tungstenite WebSocket and tokio timers on the test's `LocalSet` (the client is
//! single-threaded, like a page).

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use socket_chat::protocol::{AckReply, Broadcast, ChatMessage, HandshakeAuth, events};
use socket_chat::server::config::{ChatConfig, Config};
use socketio_browser::engine::Frame;
use socketio_browser::{ConnectionState, Environment, Socket, SocketOptions, Timer, Transport, TransportSink};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// Longest any test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Runs `test` with a `LocalSet`, where our (single-threaded) client lives.
pub fn run<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, test());
}

/// A socket-chat server on `127.0.0.1:<free port>`, with its own database file.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its database file.
    pub database: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on a new database.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server on a new database, its `[chat]` settings changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut ChatConfig)) -> Self {
        Self::start_on(fresh_database(), configure).await
    }

    /// Starts a server on `database` (a file an earlier server may have used).
    pub async fn start_on(database: PathBuf, configure: impl FnOnce(&mut ChatConfig)) -> Self {
        Self::launch(database, configure, None).await
    }

    /// Starts a server on a new database that serves the files of `site` (its site root).
    pub async fn start_serving(site: &std::path::Path) -> Self {
        Self::launch(fresh_database(), |_| {}, Some(site)).await
    }

    async fn launch(
        database: PathBuf,
        configure: impl FnOnce(&mut ChatConfig),
        site: Option<&std::path::Path>,
    ) -> Self {
        let mut chat = ChatConfig { database_url: format!("sqlite://{}", database.display()), ..ChatConfig::default() };
        configure(&mut chat);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let mut leptos = leptos::config::LeptosOptions::builder().output_name("socket-chat").site_addr(addr).build();
        if let Some(site) = site {
            leptos.site_root = site.display().to_string().into();
        }
        let config = Config { leptos, chat };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            socket_chat::server::serve(listener, config, shutdown).await.expect("the server runs");
        });
        Self { addr, database, stop: Some(stop), task: Some(task) }
    }

    /// The Engine.IO WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr)
    }

    /// Stops it and waits until it has (the database is then closed): a server that does not
    /// stop fails the test.
    pub async fn stop(mut self) -> PathBuf {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = within(task).await;
        }
        self.database.clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A database file no test has used.
fn fresh_database() -> PathBuf {
    std::env::temp_dir().join(format!("socket-chat-test-{}.db", unique()))
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The native [`Environment`]: tokio-tungstenite and tokio timers, on the current
/// `LocalSet`.
#[derive(Clone)]
pub struct Native {
    started: Instant,
}

impl Default for Native {
    fn default() -> Self {
        Self { started: Instant::now() }
    }
}

/// A WebSocket's writing half; dropping it closes the connection.
struct NativeTransport {
    frames: mpsc::UnboundedSender<Option<Frame>>,
    task: JoinHandle<()>,
}

impl Transport for NativeTransport {
    fn send(&self, frame: Frame) {
        let _ = self.frames.send(Some(frame));
    }

    fn close(&self) {
        let _ = self.frames.send(None);
    }
}

impl Drop for NativeTransport {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A tokio timer; dropping it cancels it.
struct NativeTimer(JoinHandle<()>);

impl Timer for NativeTimer {}

impl Drop for NativeTimer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Environment for Native {
    fn open(&self, url: &str, sink: TransportSink) -> Box<dyn Transport> {
        let (frames, mut outgoing) = mpsc::unbounded_channel::<Option<Frame>>();
        let url = url.to_owned();
        let task = tokio::task::spawn_local(async move {
            let Ok((ws, _)) = tokio_tungstenite::connect_async(url).await else {
                return sink.closed();
            };
            sink.opened();
            let (mut write, mut read) = ws.split();
            loop {
                tokio::select! {
                    frame = outgoing.recv() => {
                        let message = match frame.flatten() {
                            Some(Frame::Text(text)) => Message::text(text),
                            Some(Frame::Binary(bytes)) => Message::binary(bytes),
                            None => {
                                let _ = write.close().await;
                                return;
                            }
                        };
                        if write.send(message).await.is_err() {
                            return sink.closed();
                        }
                    }
                    message = read.next() => match message {
                        Some(Ok(Message::Text(text))) => sink.frame(Frame::Text(text.as_str().to_owned())),
                        Some(Ok(Message::Binary(bytes))) => sink.frame(Frame::Binary(bytes)),
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => return sink.closed(),
                    },
                }
            }
        });
        Box::new(NativeTransport { frames, task })
    }

    fn set_timeout(&self, ms: u32, callback: Box<dyn FnOnce()>) -> Box<dyn Timer> {
        Box::new(NativeTimer(tokio::task::spawn_local(async move {
            tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
            callback();
        })))
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    fn random(&self) -> f64 {
        0.5
    }
}

/// One of our clients, connected, with every `chat message` it received kept in order.
pub struct Client {
    /// The socket.
    pub socket: Socket,
    /// Every `chat message` received, in order.
    pub received: Rc<RefCell<Vec<ChatMessage>>>,
    /// Every event received, in order.
    pub events: Rc<RefCell<Vec<(String, socketio_browser::Payload)>>>,
    _guards: [socketio_browser::ListenerGuard; 2],
}

impl Client {
    /// Connects to `server` with `auth` and waits until the server accepted it.
    pub async fn connect(server: &TestServer, auth: Option<&HandshakeAuth>) -> Self {
        let mut options = SocketOptions::new(server.url());
        if let Some(auth) = auth {
            options = options.with_auth(auth).expect("auth is JSON");
        }
        Self::connect_with(options).await
    }

    /// Connects with `options` (another namespace, say) and waits until the server accepted it.
    pub async fn connect_with(options: SocketOptions) -> Self {
        let socket = Socket::new(options, Native::default());
        let received = Rc::new(RefCell::new(Vec::new()));
        let into = received.clone();
        let guard = socket.on(events::CHAT_MESSAGE, move |payload| {
            let broadcast: Broadcast = payload.decode().expect("a chat message as documented");
            into.borrow_mut().push(ChatMessage::from_broadcast(broadcast));
        });
        let all = Rc::new(RefCell::new(Vec::new()));
        let into = all.clone();
        let any = socket.on_any(move |event, payload| into.borrow_mut().push((event.to_owned(), payload.clone())));
        let connected = state(&socket, ConnectionState::is_connected);
        socket.connect();
        within(connected).await;
        Self { socket, received, events: all, _guards: [guard, any] }
    }

    /// Emits `event` with `args` and decodes the ack as `T`.
    pub async fn ask<A: Serialize + ?Sized, T: DeserializeOwned>(&self, event: &str, args: &A) -> T {
        let answer = within(self.socket.timeout(5000).emit_with_ack(event, args)).await.expect("an ack in time");
        answer.decode().unwrap_or_else(|e| panic!("the ack of {event} as documented: {e}"))
    }

    /// Emits `event` and returns the data of its `AckReply`, or its error.
    pub async fn request<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        event: &str,
        args: &A,
    ) -> Result<T, socket_chat::protocol::AckError> {
        self.ask::<A, AckReply<T>>(event, args).await.into_result()
    }

    /// Waits until `count` chat messages have arrived; returns their texts.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        let received = self.received.clone();
        within(async move {
            while received.borrow().len() < count {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        self.texts()
    }

    /// Waits for an `event` that `accept` takes (received since connecting); returns the
    /// latest such.
    pub async fn event<T: DeserializeOwned>(&self, event: &str, accept: impl Fn(&T) -> bool) -> T {
        self.event_since(0, event, accept).await
    }

    /// Waits for an `event` that `accept` takes among those received after the first
    /// `since` of them ([`Client::count`]); returns the latest such.
    pub async fn event_since<T: DeserializeOwned>(&self, since: usize, event: &str, accept: impl Fn(&T) -> bool) -> T {
        let events = self.events.clone();
        within(async move {
            loop {
                let found = {
                    let events = events.borrow();
                    let named: Vec<_> = events.iter().filter(|(name, _)| name == event).skip(since).collect();
                    named.into_iter().rev().find_map(|(_, payload)| {
                        let value: T = payload.decode().unwrap_or_else(|e| panic!("{event} as documented: {e}"));
                        accept(&value).then_some(value)
                    })
                };
                if let Some(value) = found {
                    return value;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
    }

    /// How many `event`s arrived so far.
    pub fn count(&self, event: &str) -> usize {
        self.events.borrow().iter().filter(|(name, _)| name == event).count()
    }

    /// The texts received so far, in order.
    pub fn texts(&self) -> Vec<String> {
        self.received.borrow().iter().map(|m| m.content.clone()).collect()
    }
}

/// Resolves with the next state of `socket` that `accept` takes (or the current one).
pub fn state(socket: &Socket, accept: impl Fn(&ConnectionState) -> bool + 'static) -> impl Future<Output = ()> {
    let (tx, rx) = oneshot::channel();
    let tx = RefCell::new(Some(tx));
    let guard = socket.on_state(move |s| {
        if accept(s)
            && let Some(tx) = tx.borrow_mut().take()
        {
            let _ = tx.send(());
        }
    });
    async move {
        let _ = rx.await;
        drop(guard);
    }
}

/// Waits for `future`, failing the test after [`PATIENCE`].
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future).await.expect("it happens in time")
}

/// Leaves time for anything in flight to arrive (to check that nothing more does).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// An HTTP answer read by [`http_get`].
pub struct HttpReply {
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    pub body: String,
}

impl HttpReply {
    /// The value of header `name` (lower case, as hyper sends it), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
    }
}

/// `GET path` from `host` (`127.0.0.1:port`) with `headers`, over a plain TCP connection closed
/// after the answer: what a test needs of HTTP without an HTTP client. HTTP/1.0, so that the
/// body comes as it is, never chunked.
pub async fn http_get(host: &str, path: &str, headers: &[(&str, &str)]) -> HttpReply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("the server answers");
    let extra: String = headers.iter().map(|(name, value)| format!("{name}: {value}\r\n")).collect();
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    HttpReply { status, head: head.to_owned(), body: body.to_owned() }
}
