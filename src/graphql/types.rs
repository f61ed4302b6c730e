//! GraphQL output and input types, separate from the database models so
//! that no column is exposed by accident (the password hash never is).

use async_graphql::{
    ComplexObject, Context, Enum, InputObject, InputValueError, InputValueResult, MaybeUndefined, Scalar, ScalarType,
    SimpleObject, Value, ID,
};
use chrono::{SecondsFormat, TimeZone, Utc};
use entity::{api_token, task, user};
use uuid::Uuid;

use super::error::ServiceResultExt;
use super::rules;
use crate::auth::{Scope, Scopes};
use crate::service::accounts::Session;
use crate::service::tasks::{self, Page, Tasks};

/// A point in time: RFC 3339, UTC, millisecond precision
/// (`2026-11-23T20:38:47.124Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub i64);

/// RFC 3339 timestamp in UTC with millisecond precision, e.g. `2026-11-23T20:38:47.124Z`.
#[Scalar(name = "DateTime", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| Self(t.timestamp_millis()))
                .map_err(|_| InputValueError::custom("expected an RFC 3339 timestamp")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        match Utc.timestamp_millis_opt(self.0).single() {
            Some(t) => Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => Value::Null,
        }
    }
}

/// A person with an account.
#[derive(SimpleObject)]
#[graphql(guard = "rules::signed_in().within(self.rights)", directive = rules::authenticated::apply())]
pub struct User {
    pub id: ID,
    /// Normalised: trimmed, NFKC, lower-case.
    #[graphql(
        guard = "rules::scopes(rules::PROFILE_READ).within(self.rights)",
        directive = rules::requiresScopes::apply(rules::names(rules::PROFILE_READ))
    )]
    pub email: String,
    #[graphql(
        guard = "rules::scopes(rules::PROFILE_READ).within(self.rights)",
        directive = rules::requiresScopes::apply(rules::names(rules::PROFILE_READ))
    )]
    pub name: Option<String>,
    pub created_at: DateTime,
    /// The rights it is read with when not the caller's: a session's,
    /// inside the `AuthPayload` that made it.
    #[graphql(skip)]
    pub rights: Option<Scopes>,
}

impl From<user::Model> for User {
    fn from(u: user::Model) -> Self {
        Self {
            id: ID(u.id.to_string()),
            email: u.email,
            name: u.name,
            created_at: DateTime(u.created_at),
            rights: None,
        }
    }
}

/// A todo item; only its owner ever sees it.
#[derive(SimpleObject, Clone)]
#[graphql(guard = "rules::signed_in()", directive = rules::authenticated::apply())]
pub struct Task {
    pub id: ID,
    /// Stored trimmed, 1 to 200 characters.
    pub title: String,
    /// At most 2,000 characters.
    pub description: Option<String>,
    pub completed: bool,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl From<task::Model> for Task {
    fn from(t: task::Model) -> Self {
        Self {
            id: ID(t.id.to_string()),
            title: t.title,
            description: t.description,
            completed: t.completed,
            created_at: DateTime(t.created_at),
            updated_at: DateTime(t.updated_at),
        }
    }
}

/// What signing in returns: send `accessToken` as `Authorization: Bearer …`;
/// trade `refreshToken` for a new pair with `refreshToken`. Public, like
/// the mutations that return it; its `user` is read with its session.
#[derive(SimpleObject)]
#[graphql(guard = "rules::public()")]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Access-token lifetime in seconds.
    pub expires_in: i32,
    pub user: User,
}

impl From<Session> for AuthPayload {
    fn from(s: Session) -> Self {
        Self {
            access_token: s.tokens.access_token,
            refresh_token: s.tokens.refresh_token,
            token_type: "Bearer".into(),
            expires_in: i32::try_from(s.tokens.expires_in).unwrap_or(i32::MAX),
            // A session holds every scope.
            user: User { rights: Some(Scopes::ALL), ..s.user.into() },
        }
    }
}

/// Fields of a new account.
#[derive(InputObject)]
pub struct SignupInput {
    /// Trimmed, NFKC-normalised and lower-cased; at most 254 characters.
    pub email: String,
    /// 8 to 72 bytes.
    pub password: String,
    /// At most 100 characters.
    pub name: Option<String>,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    /// 8 to 72 bytes.
    pub new_password: String,
}

#[derive(InputObject)]
pub struct CreateTaskInput {
    /// 1 to 200 characters after trimming.
    pub title: String,
    /// At most 2,000 characters.
    pub description: Option<String>,
    /// `false` when absent.
    pub completed: Option<bool>,
}

/// A partial update: an absent field is left as it is; `description: null`
/// clears the description; `title: null` is refused.
#[derive(InputObject)]
pub struct UpdateTaskInput {
    pub title: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub completed: MaybeUndefined<bool>,
}

/// Which tasks to list.
#[derive(InputObject, Default)]
#[graphql(name = "TaskFilter")]
pub struct TaskFilterInput {
    /// Only completed (`true`) or open (`false`) tasks.
    pub completed: Option<bool>,
    /// Case-insensitive substring of the title or the description.
    pub search: Option<String>,
}

impl From<TaskFilterInput> for tasks::TaskFilter {
    fn from(f: TaskFilterInput) -> Self {
        Self { completed: f.completed, search: f.search }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TaskOrderField {
    CreatedAt,
    UpdatedAt,
    /// Lower-cased title, then id.
    Title,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

/// Sort order; ties always break on id, so pages never repeat or skip.
#[derive(InputObject)]
#[graphql(name = "TaskOrder")]
pub struct TaskOrderInput {
    pub field: TaskOrderField,
    pub direction: OrderDirection,
}

impl From<TaskOrderInput> for tasks::TaskOrder {
    fn from(o: TaskOrderInput) -> Self {
        Self {
            field: match o.field {
                TaskOrderField::CreatedAt => tasks::OrderField::CreatedAt,
                TaskOrderField::UpdatedAt => tasks::OrderField::UpdatedAt,
                TaskOrderField::Title => tasks::OrderField::Title,
            },
            direction: match o.direction {
                OrderDirection::Asc => tasks::Direction::Asc,
                OrderDirection::Desc => tasks::Direction::Desc,
            },
        }
    }
}

/// Relay page information.
#[derive(SimpleObject)]
#[graphql(guard = "rules::signed_in()", directive = rules::authenticated::apply())]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// One task and its cursor.
#[derive(SimpleObject)]
#[graphql(guard = "rules::signed_in()", directive = rules::authenticated::apply())]
pub struct TaskEdge {
    /// Pass as `after` or `before` to page from here.
    pub cursor: String,
    pub node: Task,
}

/// A page of the caller's tasks.
#[derive(SimpleObject)]
#[graphql(complex, guard = "rules::signed_in()", directive = rules::authenticated::apply())]
pub struct TaskConnection {
    pub edges: Vec<TaskEdge>,
    pub page_info: PageInfo,
    #[graphql(skip)]
    pub owner: Uuid,
    #[graphql(skip)]
    pub filter: tasks::TaskFilter,
    #[graphql(skip)]
    pub total: Option<u64>,
}

#[ComplexObject(guard = "rules::signed_in()")]
impl TaskConnection {
    /// The tasks of `edges`, without their cursors.
    async fn nodes(&self) -> Vec<&Task> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// How many tasks match the filter, over all pages (counted only when asked).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let n = match self.total {
            Some(n) => n,
            None => ctx.data::<Tasks>()?.count(self.owner, &self.filter).await.gql()?,
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

impl TaskConnection {
    pub fn new(page: Page, owner: Uuid, filter: tasks::TaskFilter) -> Self {
        let page_info = PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: page.items.first().map(|(c, _)| c.clone()),
            end_cursor: page.items.last().map(|(c, _)| c.clone()),
        };
        let edges: Vec<TaskEdge> =
            page.items.into_iter().map(|(cursor, t)| TaskEdge { cursor, node: t.into() }).collect();
        Self { edges, page_info, owner, filter, total: page.total }
    }
}

/// What an API token may do. `account` is never one of them: a token made
/// for a script cannot make tokens, log out, or change the account.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ApiScope {
    /// `tasks:read`: `task`, `tasks`, `taskEvents`.
    TasksRead,
    /// `tasks:write`: the task mutations.
    TasksWrite,
    /// `profile:read`: `User.email`, `User.name`.
    ProfileRead,
}

impl From<ApiScope> for Scope {
    fn from(s: ApiScope) -> Self {
        match s {
            ApiScope::TasksRead => Scope::TasksRead,
            ApiScope::TasksWrite => Scope::TasksWrite,
            ApiScope::ProfileRead => Scope::ProfileRead,
        }
    }
}

/// A personal access token for scripts (`Authorization: Bearer tgq_…`).
/// Its secret is shown once, by `createApiToken`; only its SHA-256 is kept.
#[derive(SimpleObject)]
#[graphql(guard = "rules::signed_in()", directive = rules::authenticated::apply())]
pub struct ApiToken {
    pub id: ID,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    pub created_at: DateTime,
    pub expires_at: DateTime,
    /// Written at most once a minute.
    pub last_used_at: Option<DateTime>,
}

impl From<api_token::Model> for ApiToken {
    fn from(t: api_token::Model) -> Self {
        let held = Scopes::from_words(t.scopes.split_whitespace());
        let scopes = [ApiScope::TasksRead, ApiScope::TasksWrite, ApiScope::ProfileRead]
            .into_iter()
            .filter(|s| held.contains(Scope::from(*s)))
            .collect();
        Self {
            id: ID(t.id.to_string()),
            name: t.name,
            scopes,
            created_at: DateTime(t.created_at),
            expires_at: DateTime(t.expires_at),
            last_used_at: t.last_used_at.map(DateTime),
        }
    }
}

/// A new API token and its secret, shown this once.
#[derive(SimpleObject)]
#[graphql(guard = "rules::signed_in()", directive = rules::authenticated::apply())]
pub struct CreatedApiToken {
    /// The secret (`tgq_` and 43 characters): send it as a bearer token.
    /// It is never shown again.
    pub token: String,
    pub api_token: ApiToken,
}

/// Fields of a new API token.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// 1 to 100 characters after trimming.
    pub name: String,
    /// At least one, no repeats.
    pub scopes: Vec<ApiScope>,
    /// 1 to 365; 90 when absent.
    pub expires_in_days: Option<i32>,
}
