//! The GraphiQL IDE, served entirely by this binary: the page at
//! `GET /graphql` for browsers and its assets under `/graphiql/assets/`.
//!
//! The files are built from npm packages pinned in `graphiql/` (see its
//! README) into `graphiql/dist/`, committed, and embedded at compile time, so
//! `cargo build` needs neither Node nor a network and the IDE works offline.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "graphiql/dist"]
struct Ide;

/// The page's Content-Security-Policy, computed by the build: `'self'` only.
const CSP: &str = include_str!("../../graphiql/dist/csp.txt");

/// The IDE page; never cached, so a new build's asset names are picked up.
pub async fn page() -> Response {
    match Ide::get("index.html") {
        Some(file) => (
            [
                (CONTENT_TYPE, "text/html; charset=utf-8"),
                (CONTENT_SECURITY_POLICY, CSP.trim()),
                (CACHE_CONTROL, "no-cache"),
            ],
            file.data.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// One asset: content-hashed names, so cached for a year and immutable.
pub async fn asset(Path(name): Path<String>) -> Response {
    let found = (!name.contains('/') && !name.contains("..")).then(|| Ide::get(&format!("assets/{name}"))).flatten();
    match found {
        Some(file) => (
            [(CONTENT_TYPE, content_type(&name)), (CACHE_CONTROL, "public, max-age=31536000, immutable")],
            file.data.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The media type of a built file, by extension.
pub(crate) fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}
