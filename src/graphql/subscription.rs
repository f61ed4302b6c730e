//! Subscription root (CONTRACT §9), guarded like the other roots.

use std::sync::Arc;

use async_graphql::futures_util::stream::{self, Stream};
use async_graphql::{Context, Enum, Object, Subscription, ID};

use super::rules;
use super::types::Task;
use crate::events::hub::Delivered;
use crate::events::{EventKind, Hub};

pub struct SubscriptionRoot;

// Deny by default: a field without a rule of its own needs a caller.
#[Subscription(name = "Subscription", guard = "rules::signed_in()")]
impl SubscriptionRoot {
    /// The caller's own task changes, as they are committed, in commit order.
    #[graphql(
        guard = "rules::scopes(rules::TASKS_READ)",
        directive = rules::requiresScopes::apply(rules::names(rules::TASKS_READ))
    )]
    async fn task_events(&self, ctx: &Context<'_>) -> async_graphql::Result<impl Stream<Item = TaskEvent>> {
        let me = rules::viewer(ctx)?.user_id;
        let hub = ctx.data::<Arc<Hub>>()?;
        let rx = hub.subscribe(me);
        let metrics = hub.metrics().clone();
        Ok(stream::unfold(rx, move |mut rx| {
            let metrics = metrics.clone();
            async move {
                match rx.recv().await {
                    Ok(delivered) => Some((TaskEvent::from(delivered.as_ref()), rx)),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        // A slow reader is dropped, not buffered without limit.
                        tracing::warn!(user = %me, skipped = n, "subscriber too slow; subscription ended");
                        metrics.events_dropped(n);
                        None
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
                }
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

#[Object(guard = "rules::signed_in()", directive = rules::authenticated::apply())]
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
            EventKind::SessionsEnded | EventKind::AccessEnded | EventKind::ApiTokenRevoked(_) => {
                (TaskEventKind::Deleted, uuid::Uuid::nil())
            }
        };
        Self { kind, task_id: ID(id.to_string()), task: d.task.clone().map(Into::into) }
    }
}
