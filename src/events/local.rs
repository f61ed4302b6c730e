//! In-process event bus for SQLite: one process owns the database file.

use std::sync::Arc;

use sea_orm::{DatabaseTransaction, DbErr};
use tokio::sync::mpsc;

use super::{Event, EventBus, Hub};

/// Events waiting for the dispatcher; beyond this they are dropped and logged.
const QUEUE: usize = 10_000;

pub struct LocalBus {
    queue: mpsc::Sender<Event>,
    hub: Arc<Hub>,
}

impl LocalBus {
    /// Spawns the dispatcher: one task, so each user's events keep their order.
    pub fn start(hub: Arc<Hub>) -> Self {
        let (queue, mut rx) = mpsc::channel::<Event>(QUEUE);
        let dispatcher = hub.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                dispatcher.dispatch(event).await;
            }
        });
        Self { queue, hub }
    }
}

#[async_trait::async_trait]
impl EventBus for LocalBus {
    async fn stage(&self, _txn: &DatabaseTransaction, _event: Event) -> Result<(), DbErr> {
        Ok(())
    }

    fn committed(&self, event: Event) {
        // Revocations reach the token cache now, before the mutation answers.
        self.hub.access_changed(&event);
        if let Err(e) = self.queue.try_send(event) {
            tracing::warn!(error = %e, "event queue full; an event was dropped");
            self.hub.metrics().events_dropped(1);
        }
    }
}
