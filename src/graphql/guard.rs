//! Deny by default: every root field needs a caller unless it is on
//! [`PUBLIC_FIELDS`], the only public list in the code base.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{Context, PathSegment, ServerError, ServerResult, Value};
use uuid::Uuid;

use super::error::{server_error, Code};
use crate::auth::Caller;

/// Root fields anyone may call, as (type, field).
pub const PUBLIC_FIELDS: &[(&str, &str)] = &[
    ("Query", "__typename"),
    ("Query", "__schema"),
    ("Query", "__type"),
    ("Mutation", "__typename"),
    ("Mutation", "signup"),
    ("Mutation", "login"),
    ("Mutation", "refreshToken"),
];

/// Whether a root field is public.
pub fn is_public(parent_type: &str, field: &str) -> bool {
    PUBLIC_FIELDS.iter().any(|(t, f)| *t == parent_type && *f == field)
}

/// The message of a guarded field asked anonymously.
pub const AUTH_REQUIRED: &str = "Authentication required";

/// Refuses every non-public root field to an anonymous caller before its
/// resolver runs.
pub struct DenyByDefault;

impl ExtensionFactory for DenyByDefault {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DenyByDefault)
    }
}

#[async_trait::async_trait]
impl Extension for DenyByDefault {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let is_root = info.path_node.parent.is_none();
        if is_root
            && !is_public(info.parent_type, info.name)
            && !matches!(ctx.data_opt::<Caller>(), Some(Caller::User(_)))
        {
            let (client, operation) = super::request_of(ctx);
            tracing::warn!(
                target: "security",
                reason = "no token",
                client,
                operation,
                field = info.name,
                "guarded field asked anonymously"
            );
            let key = info.alias.unwrap_or(info.name).to_owned();
            let error: ServerError = server_error(AUTH_REQUIRED, Code::Unauthenticated);
            return Err(
                ServerError { locations: vec![info.field.name.pos], ..error }.with_path(vec![PathSegment::Field(key)])
            );
        }
        next.run(ctx, info).await
    }
}

/// The caller's user id inside a guarded resolver.
pub fn user_id(ctx: &Context<'_>) -> async_graphql::Result<Uuid> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::User(p)) => Ok(p.user_id),
        _ => Err(super::error::to_graphql(crate::service::ServiceError::Unauthenticated)),
    }
}
