//! The HTTP edge: routes, middleware, caller resolution and the mapping of
//! GraphQL results to HTTP statuses (CONTRACT §2, §5).

pub mod caller;
pub mod graphiql;
pub mod graphql;
pub mod router;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::Verifier;
use crate::graphql::AppSchema;

/// Shared state of every handler, built once at start-up.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub verifier: Verifier,
    /// Maps external identities to local users at the edge.
    pub accounts: crate::service::accounts::Accounts,
    pub db: DatabaseConnection,
    pub max_batch: usize,
    pub graphiql: bool,
    /// Take the client address from `X-Forwarded-For`.
    pub trust_proxy_headers: bool,
    /// The SDL served at `/schema.graphql`; `None` when introspection is off.
    pub sdl: Option<Arc<str>>,
}
