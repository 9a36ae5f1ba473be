//! The official Admin UI's files (npm `@socket.io/admin-ui`, `ui/dist`) at `/admin-ui/`, so
//! the UI and the server share an origin and no CORS opening is needed.

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::{Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::warn;

use crate::server::security_headers;

/// Where the UI is served.
pub const PATH: &str = "/admin-ui";

/// Routes `/admin-ui/` to the UI in `dir`. When the files are missing, a warning at start-up
/// and a 404 that says why; without an admin user, a 404 that says so.
pub fn routes<S: Clone + Send + Sync + 'static>(dir: &Path, admin_configured: bool) -> Router<S> {
    let refusal = if !admin_configured {
        Some("The Admin UI is off: start the server with --admin-username and --admin-password-hash.\n".to_owned())
    } else if !dir.join("index.html").is_file() {
        warn!(
            "the Socket.IO Admin UI is not installed in {}: {PATH}/ answers 404 (run scripts/setup.sh, or set --admin-ui-dir)",
            dir.display()
        );
        Some(format!(
            "The Socket.IO Admin UI is not installed on this server (looked in {}). Run scripts/setup.sh, or point --admin-ui-dir at the ui/dist folder of the npm package @socket.io/admin-ui.\n",
            dir.display()
        ))
    } else {
        None
    };
    let router = match refusal {
        Some(message) => {
            let refuse = get(move || async move { (StatusCode::NOT_FOUND, message) });
            Router::new().nest_service(PATH, refuse)
        }
        None => Router::new().nest_service(PATH, ServeDir::new(dir)),
    };
    router
        .layer(SetResponseHeaderLayer::overriding(
            security_headers::CSP,
            HeaderValue::from_static(security_headers::ADMIN_UI_POLICY),
        ))
        .layer(middleware::from_fn(add_slash))
}

/// `/admin-ui` → `/admin-ui/`: the UI's `index.html` refers to `js/…` and `css/…`, which
/// must resolve under `/admin-ui/`.
async fn add_slash(request: Request<Body>, next: Next) -> Response {
    if request.uri().path() == PATH {
        return Redirect::permanent(&format!("{PATH}/")).into_response();
    }
    next.run(request).await
}
