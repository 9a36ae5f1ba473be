//! The browser [`Environment`]: `web_sys::WebSocket`, gloo-timers, `Date.now()` and
//! `Math.random()` (feature `browser`; it compiles anywhere and runs in a browser).

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use gloo_timers::callback::Timeout;

use crate::engine::Frame;
use crate::socket::{Environment, Timer, Transport, TransportSink};

/// The browser's WebSocket, timers, clock and randomness.
#[derive(Debug, Default, Clone, Copy)]
pub struct BrowserEnvironment;

/// A WebSocket whose handlers live exactly as long as it does.
struct WebSocketTransport {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Transport for WebSocketTransport {
    fn send(&self, frame: Frame) {
        // A send on a closing socket fails; its close event then triggers the reconnection.
        let _ = match frame {
            Frame::Text(text) => self.ws.send_with_str(&text),
            Frame::Binary(bytes) => self.ws.send_with_u8_array(&bytes),
        };
    }

    fn close(&self) {
        self.detach();
        let _ = self.ws.close();
    }
}

impl WebSocketTransport {
    fn detach(&self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
    }
}

impl Drop for WebSocketTransport {
    fn drop(&mut self) {
        self.detach();
        let _ = self.ws.close();
    }
}

/// gloo-timers' `Timeout` already cancels itself when dropped.
impl Timer for Timeout {}

/// A transport that failed to open: it reports a close on the next turn.
struct FailedTransport;

impl Transport for FailedTransport {
    fn send(&self, _: Frame) {}
    fn close(&self) {}
}

impl Environment for BrowserEnvironment {
    fn open(&self, url: &str, sink: TransportSink) -> Box<dyn Transport> {
        let ws = match WebSocket::new(url) {
            Ok(ws) => ws,
            Err(_) => {
                Timeout::new(0, move || sink.closed()).forget();
                return Box::new(FailedTransport);
            }
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_open = {
            let sink = sink.clone();
            Closure::<dyn FnMut(Event)>::new(move |_| sink.opened())
        };
        let on_message = {
            let sink = sink.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                if let Some(text) = data.as_string() {
                    sink.frame(Frame::Text(text));
                } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                    sink.frame(Frame::Binary(js_sys::Uint8Array::new(&buffer).to_vec().into()));
                }
            })
        };
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_| sink.closed());
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Box::new(WebSocketTransport { ws, _on_open: on_open, _on_message: on_message, _on_close: on_close })
    }

    fn set_timeout(&self, ms: u32, callback: Box<dyn FnOnce()>) -> Box<dyn Timer> {
        Box::new(Timeout::new(ms, callback))
    }

    fn now(&self) -> f64 {
        js_sys::Date::now()
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }
}

/// `ws://` or `wss://` URL of the page's own server, Engine.IO v4 over WebSocket.
pub fn same_origin_url() -> Option<String> {
    web_sys::window()?.location().origin().ok().map(|origin| websocket_url(&origin))
}

/// The Engine.IO WebSocket URL of the server at `base` (`http://host:port` or `https://…`).
pub fn websocket_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => format!("ws://{base}"),
    };
    format!("{base}/socket.io/?EIO=4&transport=websocket")
}

/// Follows the browser's `offline` and `online` events for `socket` while alive: a lost
/// network drops the connection at once, a network back reconnects at once.
#[must_use = "the browser's network is followed only while this lives"]
pub struct NetworkWatch {
    on_offline: Closure<dyn FnMut(Event)>,
    on_online: Closure<dyn FnMut(Event)>,
}

impl NetworkWatch {
    /// Starts following the network for `socket`.
    pub fn new(socket: &crate::Socket) -> Option<Self> {
        let window = web_sys::window()?;
        let lost = socket.clone();
        let back = socket.clone();
        let on_offline = Closure::<dyn FnMut(Event)>::new(move |_| lost.network_lost());
        let on_online = Closure::<dyn FnMut(Event)>::new(move |_| back.network_back());
        window.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref()).ok()?;
        window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref()).ok()?;
        Some(Self { on_offline, on_online })
    }
}

impl Drop for NetworkWatch {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback("offline", self.on_offline.as_ref().unchecked_ref());
            let _ = window.remove_event_listener_with_callback("online", self.on_online.as_ref().unchecked_ref());
        }
    }
}
