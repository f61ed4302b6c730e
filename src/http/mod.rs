//! The HTTP edge: routes, middleware, caller resolution and the mapping of
//! GraphQL results to HTTP statuses (CONTRACT §2, §5).

pub mod caller;
pub mod graphiql;
pub mod graphql;
pub mod router;
pub mod web;
pub mod ws;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::Verifier;
use crate::graphql::AppSchema;

/// Shared state of every handler, built once at start-up. axum clones the
/// state for every request (each `State` extractor, each middleware), so it
/// is one `Arc`: cloning the fields themselves was 3-4 % of a `healthz`
/// request's CPU (`perf`, BENCHMARKS.md).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub schema: AppSchema,
    /// Checks and rewrites every document before the schema sees it.
    pub guard: Arc<crate::graphql::document_guard::DocumentGuard>,
    pub verifier: Verifier,
    /// Maps external identities to local users at the edge.
    pub accounts: crate::service::accounts::Accounts,
    pub db: DatabaseConnection,
    pub max_batch: usize,
    pub graphiql: bool,
    /// Take the client address from `X-Forwarded-For`.
    pub trust_proxy_headers: bool,
    /// Origins allowed besides our own (CORS, and WebSocket upgrades).
    pub cors_origins: Arc<[String]>,
    /// This replica's sockets and subscriptions.
    pub hub: Arc<crate::events::Hub>,
    pub ws_max_subscriptions: usize,
    /// How long a WebSocket client has to send `connection_init`.
    pub ws_init_timeout: std::time::Duration,
    pub max_body_bytes: usize,
    /// The SDL served at `/schema.graphql`; `None` when introspection is off.
    pub sdl: Option<Arc<str>>,
    /// Counters of CONTRACT §12 (off without `METRICS_ADDR`).
    pub metrics: crate::telemetry::Metrics,
}
