//! The GraphQL schema: roots, types, the guard, limits and error codes.

pub mod error;
pub mod guard;
pub mod mutation;
pub mod query;
pub mod types;

use std::sync::Arc;

use async_graphql::{EmptySubscription, SDLExportOptions, Schema, SchemaBuilder, ID};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::auth::password::{HashError, Passwords};
use crate::auth::Keys;
use crate::config::Config;
use crate::service::accounts::Accounts;
use crate::service::tasks::Tasks;

pub use mutation::Mutation;
pub use query::Query;

/// The client's address, in the request data for the security log.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// The client address of a request, or "unknown".
pub(crate) fn client_of<'a>(ctx: &'a async_graphql::extensions::ExtensionContext<'_>) -> &'a str {
    ctx.data_opt::<ClientAddr>().map_or("unknown", |c| c.0.as_str())
}

/// One authentication failure in the security log: reason and client,
/// never the token or the password.
pub(crate) fn security_event(ctx: &async_graphql::Context<'_>, reason: &str, what: &str) {
    let client = ctx.data_opt::<ClientAddr>().map_or("unknown", |c| c.0.as_str());
    tracing::warn!(target: "security", reason, client, "{what}");
}

/// The executable schema type.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema's shape alone, shared by [`build_schema`] and [`sdl`] so the
/// exported SDL is exactly what is served.
fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation, EmptySubscription)
}

/// Builds the executable schema from state made at start-up. It reads no
/// environment and opens no connection.
pub fn build_schema(db: DatabaseConnection, keys: Arc<Keys>, config: &Config) -> Result<AppSchema, HashError> {
    let passwords = Passwords::new(config.bcrypt_cost)?;
    let mut builder = builder()
        .data(Accounts::new(db.clone(), passwords, keys))
        .data(Tasks::new(db))
        .extension(error::ErrorCodes)
        .extension(guard::DenyByDefault)
        .limit_depth(config.graphql_max_depth)
        .limit_complexity(config.graphql_max_complexity)
        .limit_directives(config.graphql_max_directives)
        .limit_recursive_depth(32);
    if !config.graphql_introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    Ok(builder.finish())
}

/// The SDL of the schema, fields sorted: what `export-schema` prints and
/// `schema.graphql` holds.
pub fn sdl() -> String {
    builder().finish().sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_arguments().sorted_enum_items())
}

/// A GraphQL `ID` as a UUID; anything else names no task.
pub(crate) fn parse_id(id: &ID) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}
