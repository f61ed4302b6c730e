//! This replica's sockets and subscriptions, routed by owner: an event
//! costs work for that owner's subscribers only, and the task is read once
//! per event (owner-filtered), not once per socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use entity::task;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{Event, EventKind};
use crate::service::tasks::Tasks;
use crate::telemetry::Metrics;

/// Events buffered per user before a slow subscriber is dropped.
pub const BUFFER: usize = 256;

/// A task event as subscribers receive it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub kind: EventKind,
    /// The task as it is now; `None` for a deletion.
    pub task: Option<task::Model>,
}

struct User {
    events: broadcast::Sender<Arc<Delivered>>,
    ended: broadcast::Sender<Ending>,
    sockets: usize,
}

/// What ended, for the user's sockets to decide whether it is theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Logout: sockets opened with a session token.
    Sessions,
    /// Password change, deletion: every socket.
    Everything,
    /// One API token revoked: the sockets it opened.
    ApiToken(Uuid),
}

/// Told when a user's access changes (an API token revoked, all access
/// ended), so caches of verified tokens can forget them.
pub type AccessListener = Arc<dyn Fn(&Event) + Send + Sync>;

/// Registry of the sockets and subscriptions on this replica.
pub struct Hub {
    users: Mutex<HashMap<Uuid, User>>,
    tasks: Tasks,
    max_sockets_per_user: usize,
    access_listeners: Mutex<Vec<AccessListener>>,
    metrics: Metrics,
}

/// The socket cap of one user is reached.
#[derive(Debug)]
pub struct TooManySockets;

/// One registered socket; dropping it frees its place.
pub struct SocketTicket {
    hub: Arc<Hub>,
    user: Uuid,
    /// The API token the socket was opened with, if it was one.
    api_token: Option<Uuid>,
    ending: broadcast::Receiver<Ending>,
}

impl SocketTicket {
    /// Resolves when what this socket was opened with has ended: its
    /// sessions (logout, password change, deletion) or its API token.
    pub async fn ended(&mut self) {
        loop {
            match self.ending.recv().await {
                Ok(Ending::Everything) => return,
                Ok(Ending::Sessions) if self.api_token.is_none() => return,
                Ok(Ending::ApiToken(id)) if self.api_token == Some(id) => return,
                Ok(_) => continue,
                // Missed endings, or the hub is gone: end, to be safe.
                Err(_) => return,
            }
        }
    }
}

impl Drop for SocketTicket {
    fn drop(&mut self) {
        let mut users = self.hub.lock();
        if let Some(entry) = users.get_mut(&self.user) {
            entry.sockets = entry.sockets.saturating_sub(1);
            if entry.sockets == 0 && entry.events.receiver_count() == 0 {
                users.remove(&self.user);
            }
        }
    }
}

impl Hub {
    pub fn new(tasks: Tasks, max_sockets_per_user: usize, metrics: Metrics) -> Arc<Self> {
        Arc::new(Self {
            users: Mutex::default(),
            tasks,
            max_sockets_per_user,
            access_listeners: Mutex::default(),
            metrics,
        })
    }

    /// The counters events are counted in.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, User>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn entry(users: &mut HashMap<Uuid, User>, user: Uuid) -> &mut User {
        users.entry(user).or_insert_with(|| User {
            events: broadcast::channel(BUFFER).0,
            ended: broadcast::channel(16).0,
            sockets: 0,
        })
    }

    /// Takes one of the user's socket places on this replica.
    pub fn register_socket(
        self: &Arc<Self>,
        user: Uuid,
        api_token: Option<Uuid>,
    ) -> Result<SocketTicket, TooManySockets> {
        let mut users = self.lock();
        let entry = Self::entry(&mut users, user);
        if entry.sockets >= self.max_sockets_per_user {
            return Err(TooManySockets);
        }
        entry.sockets += 1;
        let ending = entry.ended.subscribe();
        Ok(SocketTicket { hub: self.clone(), user, api_token, ending })
    }

    /// A receiver of the user's task events.
    pub fn subscribe(&self, user: Uuid) -> broadcast::Receiver<Arc<Delivered>> {
        Self::entry(&mut self.lock(), user).events.subscribe()
    }

    /// Calls `listener` with every event that revokes access.
    pub fn on_access_change(&self, listener: AccessListener) {
        self.access_listeners.lock().unwrap_or_else(|p| p.into_inner()).push(listener);
    }

    /// Tells the access listeners, if `event` revokes access. The
    /// in-process bus calls it at commit, before the mutation answers.
    pub fn access_changed(&self, event: &Event) {
        if matches!(event.kind, EventKind::ApiTokenRevoked(_) | EventKind::AccessEnded) {
            for listener in self.access_listeners.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                listener(event);
            }
        }
    }

    /// Delivers one committed event to this replica's subscribers of its user.
    pub async fn dispatch(&self, event: Event) {
        self.access_changed(&event);
        let sender = {
            let users = self.lock();
            let Some(entry) = users.get(&event.user) else { return };
            let ending = match event.kind {
                EventKind::SessionsEnded => Some(Ending::Sessions),
                EventKind::AccessEnded => Some(Ending::Everything),
                EventKind::ApiTokenRevoked(id) => Some(Ending::ApiToken(id)),
                _ => None,
            };
            if let Some(ending) = ending {
                let _ = entry.ended.send(ending);
                return;
            }
            if entry.events.receiver_count() == 0 {
                return;
            }
            entry.events.clone()
        };
        let task = match event.kind {
            EventKind::Created(id) | EventKind::Updated(id) => match self.tasks.get(event.user, id).await {
                Ok(task) => Some(task),
                // Deleted again meanwhile: a later event says so.
                Err(crate::service::ServiceError::NotFound) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "reading a task for its event failed");
                    return;
                }
            },
            EventKind::Deleted(_)
            | EventKind::SessionsEnded
            | EventKind::AccessEnded
            | EventKind::ApiTokenRevoked(_) => None,
        };
        if let Ok(receivers) = sender.send(Arc::new(Delivered { kind: event.kind, task })) {
            self.metrics.events_delivered(receivers as u64);
        }
    }
}
