//! Subscription root (CONTRACT §9) and the guard that makes it deny by
//! default like the other roots.

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::Arc;

use async_graphql::futures_util::stream::{self, Stream, StreamExt};
use async_graphql::{
    registry, Context, Enum, Object, PathSegment, Response, ServerError, Subscription, SubscriptionType, ID,
};

use super::error::{server_error, Code};
use super::guard::{is_public, user_id, AUTH_REQUIRED};
use super::types::Task;
use crate::auth::Caller;
use crate::events::hub::Delivered;
use crate::events::{EventKind, Hub};

pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The caller's own task changes, as they are committed, in commit order.
    async fn task_events(&self, ctx: &Context<'_>) -> async_graphql::Result<impl Stream<Item = TaskEvent>> {
        let me = user_id(ctx)?;
        let hub = ctx.data_unchecked::<Arc<Hub>>();
        let rx = hub.subscribe(me);
        Ok(stream::unfold(rx, move |mut rx| async move {
            match rx.recv().await {
                Ok(delivered) => Some((TaskEvent::from(delivered.as_ref()), rx)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    // A slow reader is dropped, not buffered without limit.
                    tracing::warn!(user = %me, skipped = n, "subscriber too slow; subscription ended");
                    None
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
            }
        }))
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TaskEventKind {
    Created,
    Updated,
    Deleted,
}

/// One change to one of the caller's tasks.
pub struct TaskEvent {
    kind: TaskEventKind,
    task_id: ID,
    task: Option<Task>,
}

#[Object]
impl TaskEvent {
    async fn kind(&self) -> TaskEventKind {
        self.kind
    }

    async fn task_id(&self) -> &ID {
        &self.task_id
    }

    /// The task as committed; null for `DELETED`.
    async fn task(&self) -> Option<&Task> {
        self.task.as_ref()
    }
}

impl From<&Delivered> for TaskEvent {
    fn from(d: &Delivered) -> Self {
        let (kind, id) = match d.kind {
            EventKind::Created(id) => (TaskEventKind::Created, id),
            EventKind::Updated(id) => (TaskEventKind::Updated, id),
            EventKind::Deleted(id) => (TaskEventKind::Deleted, id),
            // Never delivered to subscribers: the hub turns it into socket closes.
            EventKind::SessionsEnded => (TaskEventKind::Deleted, uuid::Uuid::nil()),
        };
        Self { kind, task_id: ID(id.to_string()), task: d.task.clone().map(Into::into) }
    }
}

/// Wraps a subscription root so every field not on the public list needs
/// a caller, exactly as the resolve guard does for queries and mutations
/// (async-graphql does not run resolve extensions for subscription roots).
pub struct Guarded<S>(pub S);

impl<S: SubscriptionType> SubscriptionType for Guarded<S> {
    fn type_name() -> Cow<'static, str> {
        S::type_name()
    }

    fn create_type_info(registry: &mut registry::Registry) -> String {
        S::create_type_info(registry)
    }

    fn create_field_stream<'a>(
        &'a self,
        ctx: &'a Context<'_>,
    ) -> Option<Pin<Box<dyn Stream<Item = Response> + Send + 'a>>> {
        let name = ctx.item.node.name.node.as_str();
        let anonymous = !matches!(ctx.data_opt::<Caller>(), Some(Caller::User(_)));
        if anonymous && !is_public(&S::type_name(), name) {
            tracing::warn!(target: "security", reason = "no token", field = name, "guarded subscription asked anonymously");
            let key = ctx.item.node.response_key().node.to_string();
            let error = server_error(AUTH_REQUIRED, Code::Unauthenticated);
            let error = ServerError { locations: vec![ctx.item.pos], ..error }.with_path(vec![PathSegment::Field(key)]);
            return Some(Box::pin(stream::once(async move { Response::from_errors(vec![error]) })));
        }
        self.0.create_field_stream(ctx).map(|s| s.boxed())
    }
}
