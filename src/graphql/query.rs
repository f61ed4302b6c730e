//! Query root: thin resolvers over the services.

use async_graphql::{Context, Object, ID};

use super::error::ServiceResultExt;
use super::parse_id;
use super::rules;
use super::types::{ApiToken, Task, TaskConnection, TaskFilterInput, TaskOrderInput, User};
use crate::service::accounts::Accounts;
use crate::service::api_tokens::ApiTokens;
use crate::service::tasks::{PageArgs, Tasks};

pub struct Query;

// Deny by default: a field without a rule of its own needs a caller.
#[Object(guard = "rules::signed_in()")]
impl Query {
    /// The caller's own account.
    #[graphql(guard = "rules::signed_in()", directive = rules::authenticated::apply())]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let me = rules::viewer(ctx)?.user_id;
        Ok(ctx.data::<Accounts>()?.me(me).await.gql()?.into())
    }

    /// One of the caller's tasks; `NOT_FOUND` when it does not exist or is
    /// someone else's.
    #[graphql(
        guard = "rules::scopes(rules::TASKS_READ)",
        directive = rules::requiresScopes::apply(rules::names(rules::TASKS_READ))
    )]
    async fn task(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Task>> {
        let me = rules::viewer(ctx)?.user_id;
        let id = parse_id(&id).ok_or_else(super::malformed_id).gql()?;
        Ok(Some(ctx.data::<Tasks>()?.get(me, id).await.gql()?.into()))
    }

    /// The caller's live API tokens, newest first.
    #[graphql(
        guard = "rules::scopes(rules::ACCOUNT)",
        directive = rules::requiresScopes::apply(rules::names(rules::ACCOUNT))
    )]
    async fn api_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiToken>> {
        let me = rules::viewer(ctx)?.user_id;
        Ok(ctx.data::<ApiTokens>()?.list(me).await.gql()?.into_iter().map(Into::into).collect())
    }

    /// The caller's tasks, newest first unless `orderBy` says otherwise.
    /// `first`/`last` default to 20, at most 100.
    #[graphql(
        guard = "rules::scopes(rules::TASKS_READ)",
        directive = rules::requiresScopes::apply(rules::names(rules::TASKS_READ))
    )]
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<TaskFilterInput>,
        order_by: Option<TaskOrderInput>,
    ) -> async_graphql::Result<TaskConnection> {
        let me = rules::viewer(ctx)?.user_id;
        let filter = filter.unwrap_or_default().into();
        let order = order_by.map(Into::into).unwrap_or_default();
        let args = PageArgs { first, after, last, before };
        // Counted in the page's own statement only when the client asked.
        let with_total = ctx.look_ahead().field("totalCount").exists();
        let page = ctx.data::<Tasks>()?.page(me, &filter, order, &args, with_total).await.gql()?;
        Ok(TaskConnection::new(page, me, filter))
    }
}
