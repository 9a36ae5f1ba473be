//! The origin allowlist of Socket.IO requests: a page from another site may not open a
//! socket here.
//!
//! CORS does not protect WebSockets: a browser opens a WebSocket to any server and merely
//! tells it the page's `Origin`. So every Socket.IO request (the WebSocket upgrade and each
//! long-polling request) that carries an `Origin` is checked before socketioxide sees it:
//! one not allowed gets `403 Forbidden` and a log line. Requests with no `Origin` pass:
//! browsers always send one with a WebSocket upgrade and with cross-site requests, and
//! programs (the official Node.js client, our tests) do not send one at all, so no page can
//! get through by leaving it out.
//!
//! By default the allowed origin is the site's own: the one whose host and port are the
//! request's `Host`. `--allowed-origins` replaces that with a list (`*`: any).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::warn;

/// The path Socket.IO is served on (socketioxide's default).
const SOCKET_IO_PATH: &str = "/socket.io";

/// Which origins may open a socket.
#[derive(Debug, Clone)]
pub struct AllowedOrigins(Arc<Rule>);

#[derive(Debug)]
enum Rule {
    /// Only the site itself: the `Origin`'s authority is the request's `Host`.
    SameHost,
    /// Any origin (`*`).
    Any,
    /// These origins, normalized (`scheme://host:port`, lower case, default ports dropped).
    List(Vec<String>),
}

impl AllowedOrigins {
    /// From the configuration: empty for the site's own origin, `*` for any, or a list.
    pub fn new(configured: &[String]) -> Self {
        let rule = if configured.is_empty() {
            Rule::SameHost
        } else if configured.iter().any(|o| o == "*") {
            Rule::Any
        } else {
            Rule::List(configured.iter().filter_map(|o| parse_origin(o)).collect())
        };
        Self(Arc::new(rule))
    }

    /// Whether a request with these headers may go on.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else { return true };
        // A page's origin that is not text (or `null`, from sandboxed frames and files) is
        // not one anybody allowed.
        let Some(origin) = origin.to_str().ok().and_then(parse_origin) else { return false };
        match &*self.0 {
            Rule::Any => true,
            Rule::List(list) => list.contains(&origin),
            Rule::SameHost => {
                let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
                authority(&origin).is_some_and(|a| a.eq_ignore_ascii_case(&normalize_authority(host, scheme(&origin))))
            }
        }
    }
}

/// An axum middleware in front of socketioxide: Socket.IO requests from an origin not
/// allowed get `403` and a log line; every other request passes.
pub async fn check(State(allowed): State<AllowedOrigins>, request: Request<Body>, next: Next) -> Response {
    if request.uri().path().starts_with(SOCKET_IO_PATH) && !allowed.allows(request.headers()) {
        let origin = request.headers().get(header::ORIGIN).map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned());
        let host = request.headers().get(header::HOST).map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
        warn!(
            origin = origin.as_deref().unwrap_or(""),
            host = host.as_deref().unwrap_or(""),
            "Socket.IO request from an origin not allowed: 403"
        );
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    next.run(request).await
}

/// `scheme://host[:port]` normalized: lower case, the scheme's default port dropped, no
/// path. `None` for anything else (`null`, a path, no host).
pub fn parse_origin(text: &str) -> Option<String> {
    let text = text.trim();
    let (scheme, rest) = text.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        return None;
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    Some(format!("{scheme}://{}", normalize_authority(rest, &scheme)))
}

/// `host[:port]`, lower case, without the scheme's default port.
fn normalize_authority(authority: &str, scheme: &str) -> String {
    let authority = authority.to_ascii_lowercase();
    let default = if scheme == "https" { ":443" } else { ":80" };
    authority.strip_suffix(default).map(str::to_owned).unwrap_or(authority)
}

fn scheme(origin: &str) -> &str {
    origin.split_once("://").map_or("", |(s, _)| s)
}

fn authority(origin: &str) -> Option<&str> {
    origin.split_once("://").map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn by_default_only_the_site_itself() {
        let allowed = AllowedOrigins::new(&[]);
        assert!(allowed.allows(&headers(None, "chat.example.org")), "no Origin: not a page");
        assert!(allowed.allows(&headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000")));
        assert!(allowed.allows(&headers(Some("https://Chat.Example.org"), "chat.example.org:443")));
        assert!(!allowed.allows(&headers(Some("http://127.0.0.1:3001"), "127.0.0.1:3000")), "another port");
        assert!(!allowed.allows(&headers(Some("https://evil.example"), "chat.example.org")));
        assert!(!allowed.allows(&headers(Some("null"), "chat.example.org")));
        assert!(!allowed.allows(&headers(Some("http://chat.example.org.evil.example"), "chat.example.org")));
    }

    #[test]
    fn a_list_replaces_the_site_itself() {
        let allowed = AllowedOrigins::new(&["https://chat.example.org".into(), "http://localhost:8080/".into()]);
        assert!(allowed.allows(&headers(Some("https://chat.example.org:443"), "backend:3000")));
        assert!(allowed.allows(&headers(Some("http://LOCALHOST:8080"), "backend:3000")));
        assert!(!allowed.allows(&headers(Some("http://backend:3000"), "backend:3000")));
        let any = AllowedOrigins::new(&["*".into()]);
        assert!(any.allows(&headers(Some("https://anywhere.example"), "backend:3000")));
    }

    #[test]
    fn origins_are_parsed_strictly() {
        assert_eq!(parse_origin("HTTPS://A.example:443").as_deref(), Some("https://a.example"));
        assert_eq!(parse_origin("http://a.example:8080").as_deref(), Some("http://a.example:8080"));
        assert_eq!(parse_origin("null"), None);
        assert_eq!(parse_origin("ftp://a.example"), None);
        assert_eq!(parse_origin("https://a.example/path"), None);
        assert_eq!(parse_origin("https://user@a.example"), None);
    }
}
