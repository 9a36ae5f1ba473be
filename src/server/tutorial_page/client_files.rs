//! `/socket.io/socket.io.js` and its siblings, served as socket.io's Node.js server serves
//! them, from the npm package `socket.io-client` that the set-up installs.
//!
//! The tutorial's page loads `/socket.io/socket.io.js` from the server it talks to; the
//! Node.js server answers it (`Server#serve` in socket.io's `dist/index.js`), socketioxide
//! does not. Same answers here: `Content-Type: application/javascript; charset=utf-8`
//! (`application/json` for the source maps), `Cache-Control: public, max-age=0`, an `ETag`
//! that is the client's version in quotes, `304` with no body when `If-None-Match` is that
//! ETag (strong or weak), and the body compressed with br, gzip or deflate as the request
//! accepts. The msgpack bundles are left out: this server speaks the default parser only.
//!
//! This runs as a middleware outside socketioxide's layer, which answers every request under
//! `/socket.io/`: only GET and HEAD of exactly these names stop here, everything else
//! (Engine.IO's polling and WebSocket requests) goes on to socketioxide.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::Layer;
use tower::{ServiceExt, service_fn};
use tower_http::compression::CompressionLayer;
use tracing::{info, warn};

/// The files, as socket.io's `CLIENT_FILES` without the msgpack ones.
pub const FILES: [&str; 6] = [
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
];

/// Where they are served.
const PREFIX: &str = "/socket.io/";

/// The installed client; cheap to clone.
#[derive(Clone, Debug)]
pub struct ClientFiles(Arc<Installed>);

#[derive(Debug)]
struct Installed {
    /// `dist/` of the package.
    dist: PathBuf,
    /// `"4.8.4"`: the package's version in quotes; `None` when the package is missing.
    etag: Option<String>,
}

impl ClientFiles {
    /// The package in `package_dir` (its `package.json` gives the version, `dist/` the
    /// files). Warns when it is not there: the files then answer 404.
    pub fn open(package_dir: &Path) -> Self {
        let dist = package_dir.join("dist");
        let version = std::fs::read_to_string(package_dir.join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|json| json.get("version")?.as_str().map(str::to_owned));
        let etag = match version {
            Some(version) if dist.join(FILES[0]).is_file() => {
                info!("serving socket.io-client {version} at {PREFIX}socket.io.js (from {})", dist.display());
                Some(format!("\"{version}\""))
            }
            _ => {
                warn!(
                    "socket.io-client is not installed in {}: {PREFIX}socket.io.js answers 404 (run scripts/setup.sh, or set --socket-io-client-dir)",
                    package_dir.display()
                );
                None
            }
        };
        Self(Arc::new(Installed { dist, etag }))
    }

    /// The answer for the file `name`, given the request's `If-None-Match`.
    async fn answer(&self, name: &str, if_none_match: Option<HeaderValue>) -> Response {
        let Some(etag) = &self.0.etag else {
            let message = format!(
                "{name} is not installed on this server: run scripts/setup.sh, or point --socket-io-client-dir at the npm package socket.io-client (looked in {}).\n",
                self.0.dist.display()
            );
            return (StatusCode::NOT_FOUND, message).into_response();
        };
        // The same comparison as socket.io's: the exact strong or weak tag, not a list.
        let weak = format!("W/{etag}");
        if let Some(given) = if_none_match
            && (given.as_bytes() == etag.as_bytes() || given.as_bytes() == weak.as_bytes())
        {
            return StatusCode::NOT_MODIFIED.into_response();
        }
        let body = match tokio::fs::read(self.0.dist.join(name)).await {
            Ok(body) => body,
            Err(e) => {
                warn!(file = name, error = %e, "cannot read socket.io-client file");
                return (StatusCode::NOT_FOUND, format!("{name} cannot be read on this server: {e}\n")).into_response();
            }
        };
        let content_type = if name.ends_with(".map") {
            "application/json; charset=utf-8"
        } else {
            "application/javascript; charset=utf-8"
        };
        let mut response = Body::from(body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=0"));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(etag) = HeaderValue::from_str(etag) {
            headers.insert(header::ETAG, etag);
        }
        response
    }
}

/// The file a request asks for, if it is one of ours.
fn requested(request: &Request) -> Option<&'static str> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return None;
    }
    let name = request.uri().path().strip_prefix(PREFIX)?;
    FILES.into_iter().find(|file| *file == name)
}

/// The middleware (outside socketioxide's layer): answers the client files, passes the rest on.
pub async fn serve(State(files): State<ClientFiles>, request: Request, next: Next) -> Response {
    let Some(name) = requested(&request) else {
        return next.run(request).await;
    };
    // Compressed as the request accepts (br, gzip, deflate), like socket.io's `sendFile`.
    let answer = service_fn(move |request: Request| {
        let files = files.clone();
        let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
        async move { Ok::<_, Infallible>(files.answer(name, if_none_match).await) }
    });
    match CompressionLayer::new().layer(answer).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}
