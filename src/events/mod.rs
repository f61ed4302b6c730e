//! Live task events (CONTRACT §9): what the services publish after a
//! commit, how it reaches every replica, and how each replica hands it to
//! the owner's sockets.
//!
//! [`EventBus`] has two implementations, chosen from `DATABASE_URL`:
//! in-process for SQLite ([`local`]), `LISTEN`/`NOTIFY` for PostgreSQL
//! ([`postgres`]). Either way events end in this replica's [`hub::Hub`].

pub mod hub;
pub mod local;
pub mod postgres;

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;
use uuid::Uuid;

pub use hub::Hub;

/// What happened to one user's data. Small on purpose: a `NOTIFY` payload
/// is capped at 8,000 bytes, so the task itself is read by the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The user whose task changed or whose sessions ended.
    #[serde(rename = "u")]
    pub user: Uuid,
    #[serde(rename = "k")]
    pub kind: EventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "c")]
    Created(Uuid),
    #[serde(rename = "u")]
    Updated(Uuid),
    #[serde(rename = "d")]
    Deleted(Uuid),
    /// Logout: close the user's session sockets (not its API tokens').
    #[serde(rename = "e")]
    SessionsEnded,
    /// Password change or account deletion: sessions and API tokens end,
    /// close every socket of the user.
    #[serde(rename = "a")]
    AccessEnded,
    /// One API token revoked: close the sockets it opened.
    #[serde(rename = "r")]
    ApiTokenRevoked(Uuid),
}

/// Carries committed events to every replica.
#[async_trait::async_trait]
pub trait EventBus: Send + Sync {
    /// Inside the mutation's transaction, before commit (PostgreSQL sends
    /// `NOTIFY` here, which the database delivers only on commit).
    async fn stage(&self, txn: &DatabaseTransaction, event: Event) -> Result<(), DbErr>;
    /// After a successful commit (the in-process bus delivers here).
    fn committed(&self, event: Event);
    /// At shutdown, before the pool closes: stop whatever holds a connection.
    fn shutdown(&self) {}
}

/// Stages `event` in `txn`, commits, and announces it: the one way a
/// service finishes a change. Commit and announcement run in a task of
/// their own, so a request abandoned mid-commit (the client went away)
/// cannot leave a committed change unannounced.
pub async fn commit_and_publish(bus: &Arc<dyn EventBus>, txn: DatabaseTransaction, event: Event) -> Result<(), DbErr> {
    bus.stage(&txn, event).await?;
    let bus = bus.clone();
    tokio::spawn(
        async move {
            txn.commit().await?;
            bus.committed(event);
            Ok(())
        }
        .in_current_span(),
    )
    .await
    .map_err(|e| DbErr::Custom(format!("commit task failed: {e}")))?
}

/// The bus for this database, wired to `hub`; spawns the PostgreSQL
/// listener or the in-process dispatcher.
pub fn bus_for(db: &DatabaseConnection, hub: Arc<Hub>) -> Arc<dyn EventBus> {
    let metrics = hub.metrics().clone();
    let inner: Arc<dyn EventBus> = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => Arc::new(postgres::PgBus::start(db, hub)),
        _ => Arc::new(local::LocalBus::start(hub)),
    };
    Arc::new(Counted { inner, metrics })
}

/// Counts the task events this replica commits (`task_events_published_total`).
struct Counted {
    inner: Arc<dyn EventBus>,
    metrics: crate::telemetry::Metrics,
}

#[async_trait::async_trait]
impl EventBus for Counted {
    async fn stage(&self, txn: &DatabaseTransaction, event: Event) -> Result<(), DbErr> {
        self.inner.stage(txn, event).await
    }

    fn committed(&self, event: Event) {
        if matches!(event.kind, EventKind::Created(_) | EventKind::Updated(_) | EventKind::Deleted(_)) {
            self.metrics.event_published();
        }
        self.inner.committed(event);
    }

    fn shutdown(&self) {
        self.inner.shutdown();
    }
}
