//! PostgreSQL event bus: `NOTIFY` inside the mutation's transaction (sent
//! only if it commits, in commit order), `LISTEN` on every replica.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, Statement};

use super::{Event, EventBus, Hub};

/// The channel every replica listens on.
pub const CHANNEL: &str = "todo_graphql_events";

pub struct PgBus {
    /// The listener task: it holds a pool connection, so it is stopped
    /// before the pool closes (which waits for every connection).
    listener: tokio::task::AbortHandle,
}

impl PgBus {
    /// Spawns the listener; it reconnects after a database restart.
    pub fn start(db: &DatabaseConnection, hub: Arc<Hub>) -> Self {
        let pool = db.get_postgres_connection_pool().clone();
        let task = tokio::spawn(async move {
            loop {
                match listen(&pool, &hub).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener lost PostgreSQL; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Self { listener: task.abort_handle() }
    }
}

async fn listen(pool: &sea_orm::sqlx::PgPool, hub: &Hub) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    // Errors surface to the caller, which waits and builds a new listener.
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    tracing::info!(channel = CHANNEL, "listening for task events");
    loop {
        // `try_recv` reports a lost connection as `None` instead of
        // reconnecting silently, so the log says when events may be lost.
        match listener.try_recv().await? {
            Some(note) => match serde_json::from_str::<Event>(note.payload()) {
                Ok(event) => hub.dispatch(event).await,
                Err(e) => tracing::warn!(error = %e, "unreadable event payload"),
            },
            None => {
                tracing::warn!("event listener lost PostgreSQL; reconnecting");
                listener.listen(CHANNEL).await?;
                tracing::info!(channel = CHANNEL, "event listener reconnected");
            }
        }
    }
}

#[async_trait::async_trait]
impl EventBus for PgBus {
    fn shutdown(&self) {
        self.listener.abort();
    }

    async fn stage(&self, txn: &DatabaseTransaction, event: Event) -> Result<(), DbErr> {
        let payload = serde_json::to_string(&event).map_err(|e| DbErr::Custom(e.to_string()))?;
        txn.execute_raw(Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        ))
        .await
        .map(|_| ())
    }

    fn committed(&self, _event: Event) {}
}
