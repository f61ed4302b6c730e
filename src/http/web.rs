//! The web app of CONTRACT §11: its page at `GET /` and its files under
//! `/app/`, embedded at compile time from `web/dist/` (built from `web/` by
//! Vite and committed), so `cargo run` needs neither Node nor a network.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "web/dist"]
struct App;

/// `'self'` only: no inline script or style, nothing from another origin.
/// `connect-src 'self'` covers the same-origin WebSocket (CSP Level 3).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The page; never cached, so a new build's asset names are picked up.
pub async fn page() -> Response {
    match App::get("index.html") {
        Some(file) => (
            [(CONTENT_TYPE, "text/html; charset=utf-8"), (CONTENT_SECURITY_POLICY, CSP), (CACHE_CONTROL, "no-cache")],
            file.data.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// One built file: content-hashed names, so cached for a year and immutable.
pub async fn asset(Path(name): Path<String>) -> Response {
    let safe = !name.is_empty() && name.split('/').all(|part| !part.is_empty() && part != "..") && name != "index.html";
    match safe.then(|| App::get(&name)).flatten() {
        Some(file) => (
            [
                (CONTENT_TYPE, super::graphiql::content_type(&name)),
                (CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            file.data.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
