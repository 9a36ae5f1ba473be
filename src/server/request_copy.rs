//! Socket.IO requests get their own copy of their URI and header values, so that a long
//! connection does not keep hyper's read buffer alive.
//!
//! hyper parses a request without copying it: the URI and every header value are slices of
//! the connection's read buffer (8 to 16 KiB), and axum keeps a clone of that URI in an
//! extension. engineioxide keeps each socket's request parts for the socket's whole life,
//! and with them that whole buffer: measured with
//! heaptrack, about 16 KB per idle connection, more than half of what one costs. Copying
//! the few hundred bytes the parts really hold lets hyper's buffer go after the upgrade;
//! they are copied into one block, not one per header. For the same reason the request
//! keeps only the extensions that are read after the handshake, and, unless the Admin UI
//! (which shows them) is on, only the headers that are read ([`KeptHeaders`]).
//! No library does this (it is a consequence of two libraries' choices), hence by hand.

use std::net::SocketAddr;
use std::ops::Range;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue, Request, Uri, header};
use bytes::{Bytes, BytesMut};

use super::admin::hooks::ClientId;

/// The path Socket.IO is served on (socketioxide's default).
const SOCKET_IO_PATH: &str = "/socket.io";

/// The path of Engine.IO's requests (socketioxide's default); the official client's files
/// are beside it (`/socket.io/socket.io.js`), and their requests keep every header.
const ENGINE_IO_PATH: &str = "/socket.io/";

/// Which headers an Engine.IO request keeps: engineioxide keeps the first request of each
/// connection (its "handshake") for the connection's whole life, and each header is an entry
/// in its map for all that time (about 100 bytes with its share of the map).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptHeaders {
    /// Every header: the Admin UI shows each socket's handshake headers.
    All,
    /// Only the headers read after this middleware: the origin check reads `Origin` and
    /// `Host` (src/server/origin.rs), engineioxide `Sec-WebSocket-Key` to accept a
    /// WebSocket and `Content-Type` of a polling POST. Nothing reads the others later.
    Read,
}

impl KeptHeaders {
    /// The headers read when the Admin UI is off ([`KeptHeaders::Read`]).
    const READ: [HeaderName; 4] = [header::ORIGIN, header::HOST, header::SEC_WEBSOCKET_KEY, header::CONTENT_TYPE];

    fn keeps(self, path: &str, name: &HeaderName) -> bool {
        self == Self::All || path != ENGINE_IO_PATH || Self::READ.contains(name)
    }
}

/// An axum middleware (`map_request_with_state`): copies the URI and header values of
/// Socket.IO requests out of hyper's read buffer, keeping only the extensions the server
/// reads later and the headers `kept` says; other requests pass untouched.
pub async fn own_socket_io_request(State(kept): State<KeptHeaders>, mut request: Request<Body>) -> Request<Body> {
    if request.uri().path().starts_with(SOCKET_IO_PATH) {
        let uri = request.uri().to_string();
        let all = std::mem::take(request.headers_mut());
        let headers: Vec<_> = all.iter().filter(|(name, _)| kept.keeps(request.uri().path(), name)).collect();
        let mut copy = Texts::with_capacity(uri.len() + headers.iter().map(|(_, v)| v.len()).sum::<usize>());
        let uri_at = copy.put(uri.as_bytes());
        let value_at: Vec<_> = headers.iter().map(|(_, value)| copy.put(value.as_bytes())).collect();
        let copy = copy.done();

        *request.uri_mut() = copy.uri(uri_at).unwrap_or_else(|| request.uri().clone());
        let mut copied = HeaderMap::with_capacity(headers.len());
        for ((name, value), at) in headers.into_iter().zip(value_at) {
            let mut owned = copy.header_value(at).unwrap_or_else(|| value.clone());
            owned.set_sensitive(value.is_sensitive());
            copied.append(name.clone(), owned);
        }
        *request.headers_mut() = copied;
        *request.extensions_mut() = kept_extensions(request.extensions_mut());
    }
    request
}

/// What a socket's request keeps of its extensions: hyper's upgrade (engineioxide takes it to
/// make the WebSocket), the peer's address (rate limits per IP, the Admin UI) and the Admin
/// UI's connection id ([`ClientId`], set by a middleware outside this one). The rest (axum's
/// `OriginalUri` and URL parameters) nothing reads after the handshake, and each is a boxed
/// value in a map held as long as the connection. A new extension that socket handlers
/// read must be kept here.
fn kept_extensions(extensions: &mut Extensions) -> Extensions {
    let mut kept = Extensions::new();
    if let Some(upgrade) = extensions.remove::<hyper::upgrade::OnUpgrade>() {
        kept.insert(upgrade);
    }
    if let Some(peer) = extensions.remove::<ConnectInfo<SocketAddr>>() {
        kept.insert(peer);
    }
    if let Some(id) = extensions.remove::<ClientId>() {
        kept.insert(id);
    }
    kept
}

/// The texts of one request (its URI and header values) side by side in one allocation:
/// one small block per connection instead of one per header.
struct Texts(BytesMut);

impl Texts {
    fn with_capacity(len: usize) -> Self {
        Self(BytesMut::with_capacity(len))
    }

    /// Appends `text`; returns where it is.
    fn put(&mut self, text: &[u8]) -> Range<usize> {
        let start = self.0.len();
        self.0.extend_from_slice(text);
        start..self.0.len()
    }

    fn done(self) -> Copied {
        Copied(self.0.freeze())
    }
}

/// [`Texts`] once written: the URI and header values are slices of it.
struct Copied(Bytes);

impl Copied {
    /// The URI copied at `at`. Re-parsing what was a valid URI cannot fail: `None` if it did.
    fn uri(&self, at: Range<usize>) -> Option<Uri> {
        Uri::from_maybe_shared(self.0.slice(at)).ok()
    }

    /// The header value copied at `at` (it was valid: `None` cannot happen).
    fn header_value(&self, at: Range<usize>) -> Option<HeaderValue> {
        HeaderValue::from_maybe_shared(self.0.slice(at)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::OriginalUri;

    /// A request whose URI and header values are slices of one buffer, as hyper makes them.
    fn parsed_like_hyper(buffer: &Bytes) -> Request<Body> {
        let text = std::str::from_utf8(buffer).unwrap();
        let uri_at = text.find("/socket.io").unwrap();
        let uri_end = text[uri_at..].find(' ').unwrap() + uri_at;
        let key_at = text.find("abc==").unwrap();
        let mut request = Request::new(Body::empty());
        *request.uri_mut() = Uri::from_maybe_shared(buffer.slice(uri_at..uri_end)).unwrap();
        let value = HeaderValue::from_maybe_shared(buffer.slice(key_at..key_at + 5)).unwrap();
        request.headers_mut().append("sec-websocket-key", value);
        request.headers_mut().append("cookie", HeaderValue::from_static("a=1"));
        request.headers_mut().append("cookie", HeaderValue::from_static("b=2"));
        let original = OriginalUri(request.uri().clone());
        request.extensions_mut().insert(original);
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 5000))));
        request.extensions_mut().insert(ClientId("c1".into()));
        request
    }

    #[tokio::test]
    async fn socket_io_requests_no_longer_hold_the_read_buffer() {
        let mut buffer =
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nsec-websocket-key: abc==\r\n\r\n".to_vec();
        buffer.resize(16 * 1024, 0);
        let buffer = Bytes::from(buffer);
        let original = parsed_like_hyper(&buffer);
        assert!(!buffer.is_unique(), "the request points into the buffer");
        let request = own_socket_io_request(State(KeptHeaders::All), original).await;
        // Same request...
        assert_eq!(request.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(request.headers()["sec-websocket-key"], "abc==");
        let cookies: Vec<_> = request.headers().get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        // ...with the extensions read later, and only those (axum's `OriginalUri` held the
        // buffer too: copying it was the other way).
        let ConnectInfo(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>().unwrap();
        assert_eq!(peer.to_string(), "192.0.2.7:5000");
        assert_eq!(&*request.extensions().get::<ClientId>().unwrap().0, "c1");
        assert!(request.extensions().get::<OriginalUri>().is_none());
        // ...that no longer points into the buffer.
        assert!(buffer.is_unique(), "the request still holds the read buffer");
        // The copies share one block: the URI and the last header value are 5 bytes apart
        // and more in it ("abc==", then the cookies).
        let uri = request.uri().path_and_query().unwrap().as_str().as_ptr() as usize;
        let last_cookie = cookies[1].as_bytes().as_ptr() as usize;
        assert_eq!(last_cookie - uri, "/socket.io/?EIO=4&transport=websocket".len() + "abc==".len() + "a=1".len());
    }

    #[tokio::test]
    async fn other_requests_pass_untouched() {
        let mut request = Request::new(Body::empty());
        *request.uri_mut() = Uri::from_static("/rooms?x=1");
        request.headers_mut().insert("accept", HeaderValue::from_static("text/html"));
        let request = own_socket_io_request(State(KeptHeaders::Read), request).await;
        assert_eq!(request.uri(), "/rooms?x=1");
        assert_eq!(request.headers()["accept"], "text/html");
    }

    fn engine_io_request(path_and_query: &str) -> Request<Body> {
        let mut request = Request::new(Body::empty());
        *request.uri_mut() = Uri::try_from(path_and_query).unwrap();
        for (name, value) in [
            ("host", "chat.example.org"),
            ("origin", "https://chat.example.org"),
            ("sec-websocket-key", "abc=="),
            ("content-type", "text/plain;charset=UTF-8"),
            ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
            ("accept-language", "en-GB,en;q=0.9"),
            ("cookie", "a=1"),
        ] {
            request.headers_mut().append(name, HeaderValue::from_static(value));
        }
        request
    }

    #[tokio::test]
    async fn without_the_admin_ui_an_engine_io_request_keeps_only_the_headers_read_later() {
        let request =
            own_socket_io_request(State(KeptHeaders::Read), engine_io_request("/socket.io/?EIO=4&transport=websocket"))
                .await;
        let mut names: Vec<_> = request.headers().keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-type", "host", "origin", "sec-websocket-key"]);
        assert_eq!(request.headers()["sec-websocket-key"], "abc==");
        assert_eq!(request.uri(), "/socket.io/?EIO=4&transport=websocket");
        // The official client's files keep theirs (If-None-Match, Accept-Encoding...).
        let files = own_socket_io_request(State(KeptHeaders::Read), engine_io_request("/socket.io/socket.io.js")).await;
        assert_eq!(files.headers().len(), 7);
        // With the Admin UI, every header stays: it shows them.
        let shown =
            own_socket_io_request(State(KeptHeaders::All), engine_io_request("/socket.io/?EIO=4&transport=polling"))
                .await;
        assert_eq!(shown.headers().len(), 7);
        assert_eq!(shown.headers()["user-agent"], "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36");
    }
}
