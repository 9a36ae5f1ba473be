//! Security headers of every HTTP answer, and the Content-Security-Policy of each kind of page.
//!
//! Every answer gets `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
//! `X-Frame-Options: DENY`, and, unless its handler set one, a Content-Security-Policy that
//! allows only the site's own files and no framing ([`layer`]). Pages that run code set their
//! own, as narrow as they allow:
//!
//! - the Leptos pages ([`leptos_page_policy`], from `ui::shell`): scripts from the site and
//!   Leptos' inline hydration script with the response's nonce, WebAssembly
//!   (`'wasm-unsafe-eval'`), connections to the site only (and, on `/lab`, to the server
//!   named by `?server=`);
//! - `/tutorial` ([`with_nonce`]): its one inline script and style, by a nonce;
//! - `/admin-ui/` ([`ADMIN_UI_POLICY`]): the official UI is a Vue app that injects its styles,
//!   loads its font and icons from CDNs and connects to a server the user names, so inline
//!   styles, those CDNs and any server are allowed there, scripts still only from the site.

use axum::http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of answers whose handler set none: the site's own files, no framing.
pub const DEFAULT_POLICY: &str =
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The Admin UI's policy (see the module doc).
/// Its `index.html` loads the Roboto font and the Material Design icons from their CDNs.
pub const ADMIN_UI_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://cdn.jsdelivr.net; \
     img-src 'self' data:; font-src 'self' data: https://fonts.gstatic.com https://cdn.jsdelivr.net; \
     connect-src 'self' ws: wss: http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

type Headers = Stack<
    SetResponseHeaderLayer<HeaderValue>,
    Stack<
        SetResponseHeaderLayer<HeaderValue>,
        Stack<SetResponseHeaderLayer<HeaderValue>, Stack<SetResponseHeaderLayer<HeaderValue>, Identity>>,
    >,
>;

/// The headers every answer gets (a policy only where the handler set none).
pub fn layer() -> ServiceBuilder<Headers> {
    ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
}

/// The Content-Security-Policy of a Leptos page rendered with `nonce`. `other_server` is the
/// `?server=` of `/` or `/lab` (either may talk to another Socket.IO server); `reload` the
/// WebSocket of cargo-leptos' live reload, in `cargo leptos watch` only.
pub fn leptos_page_policy(nonce: &str, other_server: Option<&str>, reload: Option<&str>) -> String {
    let mut connect = String::from("'self'");
    if let Some(origin) = other_server.and_then(socket_io_origins) {
        connect.push(' ');
        connect.push_str(&origin);
    }
    if let Some(reload) = reload {
        connect.push(' ');
        connect.push_str(reload);
    }
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self'; connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The origins a Socket.IO client reaches a server at (`http://h:p ws://h:p`), when `url` is
/// an `http`/`https` URL; `None` otherwise (nothing is added to the policy).
fn socket_io_origins(url: &str) -> Option<String> {
    let origin = super::origin::parse_origin(url.split(['?', '#']).next()?.trim_end_matches('/'))?;
    let (scheme, authority) = origin.split_once("://")?;
    let ws = if scheme == "https" { "wss" } else { "ws" };
    Some(format!("{origin} {ws}://{authority}"))
}

/// `/tutorial`'s page with a fresh nonce on its inline `<script>` and `<style>`, and the
/// policy that allows exactly those.
pub fn with_nonce(html: &str) -> (String, String) {
    let nonce = fresh_nonce();
    let page = html
        .replace("<script>", &format!("<script nonce=\"{nonce}\">"))
        .replace("<style>", &format!("<style nonce=\"{nonce}\">"));
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    (page, policy)
}

/// 128 random bits, hex.
fn fresh_nonce() -> String {
    let mut bytes = [0u8; 16];
    // The OS's generator does not fail on the platforms we serve from; if it ever did, the
    // page would still be served, with a nonce an attacker cannot know in advance either
    // (the time), rather than not at all.
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes = now.as_nanos().to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The header name, for handlers that set a policy themselves.
pub const CSP: HeaderName = header::CONTENT_SECURITY_POLICY;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leptos_pages_allow_their_nonce_and_wasm_and_nothing_inline_else() {
        let policy = leptos_page_policy("abc", None, None);
        assert!(policy.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(policy.contains("connect-src 'self';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }

    #[test]
    fn the_lab_may_reach_the_server_it_names_and_only_a_real_one() {
        let policy = leptos_page_policy("n", Some("http://127.0.0.1:4001/?x=1"), None);
        assert!(policy.contains("connect-src 'self' http://127.0.0.1:4001 ws://127.0.0.1:4001;"), "{policy}");
        let policy = leptos_page_policy("n", Some("javascript:alert(1)"), None);
        assert!(policy.contains("connect-src 'self';"), "{policy}");
        let policy = leptos_page_policy("n", Some("https://x.example; script-src *"), None);
        assert!(policy.contains("connect-src 'self';"), "a policy cannot be injected: {policy}");
    }

    #[test]
    fn the_tutorial_gets_a_fresh_nonce_each_time() {
        let (page, policy) = with_nonce("<style>p{}</style><script src=\"/a.js\"></script><script>go()</script>");
        let nonce = policy.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
        assert_eq!(nonce.len(), 32);
        assert!(page.contains(&format!("<script nonce=\"{nonce}\">go()")), "{page}");
        assert!(page.contains(&format!("<style nonce=\"{nonce}\">")), "{page}");
        assert!(page.contains("<script src=\"/a.js\">"), "external scripts are left alone: {page}");
        assert_ne!(with_nonce("").1, with_nonce("").1);
    }
}
