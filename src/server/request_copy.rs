//! Socket.IO requests get their own copy of their URI and header values, so that a long
//! connection does not keep hyper's read buffer alive.
//!
//! hyper parses a request without copying it: the URI and every header value are slices of
//! the connection's read buffer (8 to 16 KiB), and axum keeps a clone of that URI in an
//! extension. engineioxide keeps each socket's request parts for the socket's whole life,
//! and with them that whole buffer: measured with
//! heaptrack, about 16 KB per idle connection, more than half of what one costs. Copying
//! the few hundred bytes the parts really hold lets hyper's buffer go after the upgrade.
//! No library does this (it is a consequence of two libraries' choices), hence by hand.

use axum::body::Body;
use axum::extract::OriginalUri;
use axum::http::{HeaderMap, HeaderValue, Request, Uri};

/// The path Socket.IO is served on (socketioxide's default).
const SOCKET_IO_PATH: &str = "/socket.io";

/// An axum `map_request` middleware: copies the URI and header values of Socket.IO requests
/// out of hyper's read buffer; other requests pass untouched.
pub async fn own_socket_io_request(mut request: Request<Body>) -> Request<Body> {
    if request.uri().path().starts_with(SOCKET_IO_PATH) {
        *request.uri_mut() = copied_uri(request.uri());
        // axum's router keeps the URI it received in an extension, which would hold the
        // buffer just the same.
        if let Some(OriginalUri(original)) = request.extensions_mut().get_mut::<OriginalUri>() {
            *original = copied_uri(original);
        }
        let headers = std::mem::take(request.headers_mut());
        *request.headers_mut() = copied_headers(&headers);
    }
    request
}

/// The same URI in its own allocation.
fn copied_uri(uri: &Uri) -> Uri {
    // Re-parsing what was a valid URI cannot fail; keep the original if it ever did.
    Uri::try_from(uri.to_string()).unwrap_or_else(|_| uri.clone())
}

/// The same headers (names, values, order, sensitivity), values in their own allocations.
fn copied_headers(headers: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let mut owned = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        owned.set_sensitive(value.is_sensitive());
        copy.append(name.clone(), owned);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

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
        let request = own_socket_io_request(original).await;
        // Same request...
        assert_eq!(request.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(request.headers()["sec-websocket-key"], "abc==");
        let cookies: Vec<_> = request.headers().get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(request.extensions().get::<OriginalUri>().unwrap().0, "/socket.io/?EIO=4&transport=websocket");
        // ...that no longer points into the buffer.
        assert!(buffer.is_unique(), "the request still holds the read buffer");
    }

    #[tokio::test]
    async fn other_requests_pass_untouched() {
        let mut request = Request::new(Body::empty());
        *request.uri_mut() = Uri::from_static("/rooms?x=1");
        request.headers_mut().insert("accept", HeaderValue::from_static("text/html"));
        let request = own_socket_io_request(request).await;
        assert_eq!(request.uri(), "/rooms?x=1");
        assert_eq!(request.headers()["accept"], "text/html");
    }
}
