//! Mutation root: thin resolvers over the services.

use async_graphql::{Context, MaybeUndefined, Object, ID};

use super::error::{to_graphql, ServiceResultExt};
use super::parse_id;
use super::rules;
use super::types::{
    AuthPayload, ChangePasswordInput, CreateApiTokenInput, CreateTaskInput, CreatedApiToken, LoginInput, SignupInput,
    Task, UpdateTaskInput,
};
use crate::auth::Scope;
use crate::auth::{Caller, Principal};
use crate::service::accounts::managed_elsewhere;
use crate::service::accounts::Accounts;
use crate::service::api_tokens::ApiTokens;
use crate::service::tasks::{NewTask, TaskPatch, Tasks};
use crate::service::ServiceError;

pub struct Mutation;

// Deny by default: a field without a rule of its own needs a caller.
#[Object(guard = "rules::signed_in()")]
impl Mutation {
    /// Creates a password account and signs it in. Public.
    #[graphql(guard = "rules::public()")]
    async fn signup(&self, ctx: &Context<'_>, input: SignupInput) -> async_graphql::Result<AuthPayload> {
        let accounts = ctx.data::<Accounts>()?;
        let client = super::client(ctx);
        let session = accounts.signup(&input.email, input.password, input.name.as_deref(), &client).await;
        if let Err(ServiceError::TooManyRequests { .. }) = &session {
            super::security_event(ctx, super::Refusal::RateLimited, "signup refused");
        }
        Ok(session.gql()?.into())
    }

    /// Signs in with email and password. Public.
    #[graphql(guard = "rules::public()")]
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> async_graphql::Result<AuthPayload> {
        let accounts = ctx.data::<Accounts>()?;
        let session = accounts.login(&input.email, input.password, &super::client(ctx)).await;
        match &session {
            Err(ServiceError::InvalidCredentials) => {
                super::security_event(ctx, super::Refusal::BadCredentials, "login failed")
            }
            Err(ServiceError::TooManyRequests { .. }) => {
                super::security_event(ctx, super::Refusal::RateLimited, "login refused")
            }
            _ => {}
        }
        Ok(session.gql()?.into())
    }

    /// Trades a refresh token for a new token pair. Public.
    #[graphql(guard = "rules::public()")]
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<AuthPayload> {
        if let Some(Caller::User(Principal { external: true, .. })) = ctx.data_opt::<Caller>() {
            return Err(to_graphql(managed_elsewhere("refreshToken")));
        }
        let session = ctx.data::<Accounts>()?.refresh(&refresh_token).await;
        if let Err(ServiceError::InvalidRefreshToken { reason }) = &session {
            super::security_event(ctx, super::Refusal::BadRefreshToken(reason), "refresh token refused");
        }
        Ok(session.gql()?.into())
    }

    /// Ends every session of the caller: all refresh tokens stop working;
    /// access tokens lapse within their lifetime.
    #[graphql(
        guard = "rules::scopes(rules::ACCOUNT)",
        directive = rules::requiresScopes::apply(rules::names(rules::ACCOUNT))
    )]
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let me = rules::viewer(ctx)?.user_id;
        ctx.data::<Accounts>()?.logout(me).await.gql()?;
        Ok(true)
    }

    /// Sets a new password; ends every other session and returns a new one.
    #[graphql(
        guard = "rules::scopes(rules::ACCOUNT)",
        directive = rules::requiresScopes::apply(rules::names(rules::ACCOUNT))
    )]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> async_graphql::Result<AuthPayload> {
        let me = rules::viewer(ctx)?.user_id;
        let accounts = ctx.data::<Accounts>()?;
        Ok(accounts.change_password(me, input.current_password, input.new_password).await.gql()?.into())
    }

    /// Deletes the caller's account and all of its tasks.
    #[graphql(
        guard = "rules::scopes(rules::ACCOUNT)",
        directive = rules::requiresScopes::apply(rules::names(rules::ACCOUNT))
    )]
    async fn delete_account(&self, ctx: &Context<'_>, password: String) -> async_graphql::Result<bool> {
        let me = rules::viewer(ctx)?.user_id;
        ctx.data::<Accounts>()?.delete_account(me, password).await.gql()?;
        Ok(true)
    }

    /// Creates a task owned by the caller.
    #[graphql(
        guard = "rules::scopes(rules::TASKS_WRITE)",
        directive = rules::requiresScopes::apply(rules::names(rules::TASKS_WRITE))
    )]
    async fn create_task(&self, ctx: &Context<'_>, input: CreateTaskInput) -> async_graphql::Result<Task> {
        let me = rules::viewer(ctx)?.user_id;
        let new = NewTask { title: input.title, description: input.description, completed: input.completed };
        Ok(ctx.data::<Tasks>()?.create(me, new).await.gql()?.into())
    }

    /// Changes the given fields of one of the caller's tasks.
    #[graphql(
        guard = "rules::scopes(rules::TASKS_WRITE)",
        directive = rules::requiresScopes::apply(rules::names(rules::TASKS_WRITE))
    )]
    async fn update_task(&self, ctx: &Context<'_>, id: ID, input: UpdateTaskInput) -> async_graphql::Result<Task> {
        let me = rules::viewer(ctx)?.user_id;
        let patch = TaskPatch {
            title: required("title", input.title).gql()?,
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d)),
            },
            completed: required("completed", input.completed).gql()?,
        };
        let id = task_id(ctx, me, &id).await?;
        Ok(ctx.data::<Tasks>()?.update(me, id, patch).await.gql()?.into())
    }

    /// Marks one of the caller's tasks done or not done.
    #[graphql(
        guard = "rules::scopes(rules::TASKS_WRITE)",
        directive = rules::requiresScopes::apply(rules::names(rules::TASKS_WRITE))
    )]
    async fn set_task_completed(&self, ctx: &Context<'_>, id: ID, completed: bool) -> async_graphql::Result<Task> {
        let me = rules::viewer(ctx)?.user_id;
        let id = task_id(ctx, me, &id).await?;
        let patch = TaskPatch { completed: Some(completed), ..TaskPatch::default() };
        Ok(ctx.data::<Tasks>()?.update(me, id, patch).await.gql()?.into())
    }

    /// Deletes one of the caller's tasks and returns its id.
    #[graphql(
        guard = "rules::scopes(rules::TASKS_WRITE)",
        directive = rules::requiresScopes::apply(rules::names(rules::TASKS_WRITE))
    )]
    async fn delete_task(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let me = rules::viewer(ctx)?.user_id;
        let uuid = task_id(ctx, me, &id).await?;
        let deleted = ctx.data::<Tasks>()?.delete(me, uuid).await.gql()?;
        Ok(ID(deleted.to_string()))
    }

    /// Makes an API token for a script; its secret is in the answer, once.
    #[graphql(
        guard = "rules::scopes(rules::ACCOUNT)",
        directive = rules::requiresScopes::apply(rules::names(rules::ACCOUNT))
    )]
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> async_graphql::Result<CreatedApiToken> {
        let me = rules::viewer(ctx)?.user_id;
        let scopes: Vec<Scope> = input.scopes.into_iter().map(Into::into).collect();
        let days = input.expires_in_days.map(i64::from);
        let created = ctx.data::<ApiTokens>()?.create(me, &input.name, &scopes, days).await.gql()?;
        Ok(CreatedApiToken { token: created.secret, api_token: created.token.into() })
    }

    /// Revokes one of the caller's API tokens and returns its id: refused
    /// from the next request on, its sockets closed.
    #[graphql(
        guard = "rules::scopes(rules::ACCOUNT)",
        directive = rules::requiresScopes::apply(rules::names(rules::ACCOUNT))
    )]
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let me = rules::viewer(ctx)?.user_id;
        let id = parse_id(&id).ok_or_else(super::malformed_id).gql()?;
        let revoked = ctx.data::<ApiTokens>()?.revoke(me, id).await.gql()?;
        Ok(ID(revoked.to_string()))
    }
}

/// A task id; one that is not a UUID is `BAD_USER_INPUT` on `id` (it
/// names nothing), or `UNAUTHENTICATED` when the caller's account is gone.
async fn task_id(ctx: &Context<'_>, me: uuid::Uuid, id: &ID) -> async_graphql::Result<uuid::Uuid> {
    match parse_id(id) {
        Some(id) => Ok(id),
        None => match ctx.data::<Tasks>()?.missing(me).await {
            ServiceError::NotFound => Err(to_graphql(super::malformed_id())),
            other => Err(to_graphql(other)),
        },
    }
}

/// A field that may be absent but not `null`.
fn required<T>(field: &'static str, value: MaybeUndefined<T>) -> Result<Option<T>, ServiceError> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(ServiceError::bad_input(field, format!("`{field}` may be left out, but not null"))),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}
