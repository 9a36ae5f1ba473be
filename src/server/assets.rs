//! The built page's files under `/pkg` (WASM, JS, CSS): served as the build compressed them,
//! and cached by name; the site's other files (`favicon.png`, `theme.js`) and the "Page not
//! found." page for any other address ([`site_files`]).
//!
//! - A release build (`cargo leptos build --release --precompress`) writes a `.br` and a `.gz`
//!   beside every file; the browser gets the smallest one its `Accept-Encoding` allows, with no
//!   compression work per request (brotli at its best level is too slow to run per request).
//!   Without them (a debug build), the router's compression layer compresses on the fly.
//! - cargo-leptos puts a content hash in each name (`hash-files`): a name never changes its
//!   content, so the browser keeps it a year without asking again (`immutable`). Any other file
//!   is revalidated on every use (`no-cache`), so a new build is never hidden by an old copy.
//! - `Vary: Accept-Encoding` on every answer: caches between us and the browser must not hand
//!   a brotli body to a browser that asked for gzip.

use axum::Router;
use axum::extract::Request;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use leptos::IntoView;
use leptos::config::LeptosOptions;
use tower_http::services::ServeDir;

/// A year: the longest lifetime browsers honour.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Stored, but checked with the server (`If-Modified-Since`) before each use.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// Length of cargo-leptos' hash in a file name: an MD5 digest in unpadded base64url.
const HASH_LEN: usize = 22;

/// `/pkg/*` from `site-root/site-pkg-dir`, precompressed variants first.
pub fn routes<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new().nest_service(&format!("/{}", options.site_pkg_dir), files).layer(middleware::from_fn(cache_headers))
}

/// Every address no route takes: a file of the site's root (`public/`: the favicon, the theme
/// script), precompressed variants first, else `shell`'s "Page not found." with a 404.
///
/// Not leptos_axum's `file_and_error_handler`: for a file it finds, it looks the response
/// options up in an `Owner::new()`, a child of the reactive owner current on the worker
/// thread. `Owner::new_root` (reactive_graph 0.2.16), which every page's render calls, leaves
/// itself current on its thread after the page's handler has returned, so a favicon request
/// handled there while the page was still rendering (waiting for its history) took the
/// page's headers: the page went out without its Content-Security-Policy, the default one
/// blocked its hydration script, and the chat stayed "disconnected" (seen through HAProxy on
/// a quick reload; tests/server/pages.rs makes it at will). Here a file never meets the
/// reactive system, and the 404 page is rendered under its own root owner like every page.
pub fn site_files<S, V>(
    options: &LeptosOptions,
    shell: impl Fn(LeptosOptions) -> V + Clone + Send + Sync + 'static,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let render = leptos_axum::render_app_async_with_context(|| {}, {
        let options = options.clone();
        move || shell(options.clone())
    });
    let not_found = move |request: Request| {
        let page = render(request);
        async move {
            let mut response = page.await;
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    };
    let files = ServeDir::new(&*options.site_root)
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found.into_service());
    Router::new().fallback_service(files).layer(middleware::from_fn(cache_headers))
}

/// Adds `Cache-Control` (by name) and `Vary: Accept-Encoding` to what `ServeDir` answers.
async fn cache_headers(request: Request, next: Next) -> Response {
    let hashed = has_content_hash(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    let headers = response.headers_mut();
    if status.is_success() || status.is_redirection() {
        headers.insert(header::CACHE_CONTROL, if hashed { IMMUTABLE } else { REVALIDATE });
    }
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Whether a file name carries cargo-leptos' content hash: `name.<22 base64url chars>.ext`
/// (`socket-chat.Qq3r1W6y0ZkY0t0Kx2cRVA.wasm`).
fn has_content_hash(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut parts = name.rsplit('.');
    let (Some(_extension), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty()
        && hash.len() == HASH_LEN
        && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::has_content_hash;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(has_content_hash("/pkg/socket-chat.Qq3r1W6y0ZkY0t0Kx2cRVA.wasm"));
        assert!(has_content_hash("/pkg/socket-chat.a-b_c12345678901234567.js"));
        assert!(has_content_hash("/pkg/__wasm_split.Qq3r1W6y0ZkY0t0Kx2cRVA.js"));
    }

    #[test]
    fn other_names_are_not() {
        assert!(!has_content_hash("/pkg/socket-chat.wasm"));
        assert!(!has_content_hash("/pkg/socket-chat_bg.wasm"));
        assert!(!has_content_hash("/pkg/.Qq3r1W6y0ZkY0t0Kx2cRVA.wasm"));
        assert!(!has_content_hash("/pkg/socket-chat.Qq3r1W6y0ZkY0t0Kx2cRV.wasm"));
        assert!(!has_content_hash("/pkg/socket-chat.Qq3r1W6y0ZkY0t0Kx2c/VA.wasm"));
        assert!(!has_content_hash("/pkg/socket-chat.Qq3r1W6y0ZkY0t0Kx2c.VA.wasm"));
        assert!(!has_content_hash(""));
    }
}
