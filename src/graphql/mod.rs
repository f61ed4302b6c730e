//! The GraphQL schema: roots, types, the guard, limits and error codes.

pub mod document_cache;
pub mod document_guard;
pub mod error;
pub mod mutation;
pub mod nulls;
pub mod query;
pub mod response;
pub mod rules;
pub mod shape;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{SDLExportOptions, Schema, SchemaBuilder, ID};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::auth::password::HashError;
use crate::auth::Keys;
use crate::config::Config;
use crate::events::Hub;
use crate::service::tasks::Tasks;
use crate::service::Services;

pub use mutation::Mutation;
pub use query::Query;

/// Facts about the HTTP request, in the request data for rate limits and
/// the security log.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client's address (the socket peer, or the proxy's word for it).
    pub client: String,
    /// The GraphQL operation name, when the request gave one.
    pub operation: Option<String>,
}

impl RequestMeta {
    fn of(data: Option<&RequestMeta>) -> (&str, &str) {
        match data {
            Some(m) => (m.client.as_str(), m.operation.as_deref().unwrap_or("-")),
            None => ("unknown", "-"),
        }
    }
}

/// The client address of a request, for rate limits.
pub(crate) fn client(ctx: &async_graphql::Context<'_>) -> String {
    RequestMeta::of(ctx.data_opt::<RequestMeta>()).0.to_owned()
}

/// Why a GraphQL field refused its caller, for the security log and metrics.
pub(crate) enum Refusal<'a> {
    RateLimited,
    BadCredentials,
    /// The refresh token's fault, in the service's words.
    BadRefreshToken(&'a str),
    NoToken,
    InsufficientScope,
}

impl Refusal<'_> {
    /// The log's `reason`.
    fn reason(&self) -> &str {
        match self {
            Self::RateLimited => "rate limited",
            Self::BadCredentials => "bad email or password",
            Self::BadRefreshToken(reason) => reason,
            Self::NoToken => "no token",
            Self::InsufficientScope => "insufficient scope",
        }
    }

    /// The `auth_failures_total{reason}` label; rate limits have their own
    /// counter, where the limiter refuses.
    fn label(&self) -> Option<&'static str> {
        match self {
            Self::RateLimited => None,
            Self::BadCredentials => Some("bad_credentials"),
            Self::BadRefreshToken(_) => Some("bad_refresh_token"),
            Self::NoToken => Some("no_token"),
            Self::InsufficientScope => Some("insufficient_scope"),
        }
    }
}

/// One authentication failure in the security log and the metrics: reason
/// and client, never the token or the password.
pub(crate) fn security_event(ctx: &async_graphql::Context<'_>, refusal: Refusal<'_>, what: &str) {
    if let (Some(metrics), Some(label)) = (ctx.data_opt::<crate::telemetry::Metrics>(), refusal.label()) {
        metrics.auth_failure(label);
    }
    let reason = refusal.reason();
    let (client, operation) = RequestMeta::of(ctx.data_opt::<RequestMeta>());
    let field = ctx.item.node.name.node.as_str();
    tracing::warn!(target: "security", reason, client, operation, field, "{what}");
}

pub use subscription::SubscriptionRoot;

/// The executable schema type.
pub type AppSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// The schema's shape alone, shared by [`build_schema`] and [`sdl`] so the
/// exported SDL is exactly what is served.
fn builder() -> SchemaBuilder<Query, Mutation, SubscriptionRoot> {
    Schema::build(Query, Mutation, SubscriptionRoot)
}

/// Builds the executable schema from state made at start-up. It reads no
/// environment and opens no connection.
/// Live events stay in this process (the in-process bus); `Application`
/// wires the bus of its database instead.
pub fn build_schema(db: DatabaseConnection, keys: Arc<Keys>, config: &Config) -> Result<AppSchema, HashError> {
    let hub = Hub::new(Tasks::new(db.clone()), config.ws_max_sockets_per_user, crate::telemetry::Metrics::off());
    let bus: Arc<dyn crate::events::EventBus> = Arc::new(crate::events::local::LocalBus::start(hub.clone()));
    Ok(schema_from(Services::new(db, keys, config, bus, crate::telemetry::Metrics::off())?, hub, config))
}

/// The executable schema over services and an event hub built by the caller.
pub fn schema_from(services: Services, hub: Arc<Hub>, config: &Config) -> AppSchema {
    let mut builder = builder()
        .data(services.accounts)
        .data(services.tasks)
        .data(services.api_tokens)
        .data(hub.metrics().clone())
        .data(hub)
        // Depth and complexity are counted by the document guard at the
        // edge, fragments once each; async-graphql's own counters expand
        // every spread. Its recursion bound stays as a second line.
        .limit_directives(config.graphql_max_directives)
        .limit_recursive_depth(document_guard::MAX_NESTING + 2);
    if !config.graphql_introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The document guard for `config`'s limits (CONTRACT §7).
pub fn document_guard(config: &Config) -> document_guard::DocumentGuard {
    document_guard::DocumentGuard::new(document_guard::Limits {
        depth: config.graphql_max_depth,
        complexity: config.graphql_max_complexity,
        aliases: config.graphql_max_aliases,
        password_fields: 3,
        directives: config.graphql_max_directives,
    })
}

/// The SDL of the schema, fields sorted: what `export-schema` prints and
/// `schema.graphql` holds.
pub fn sdl() -> String {
    builder().finish().sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_arguments().sorted_enum_items())
}

/// The error of an `id` argument that is not a UUID (CONTRACT §5).
pub(crate) fn malformed_id() -> crate::service::ServiceError {
    crate::service::ServiceError::bad_input("id", "An id is a UUID")
}

/// A GraphQL `ID` as a UUID; anything else names no task.
pub(crate) fn parse_id(id: &ID) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}
