//! bcrypt hashing on a few threads of its own, at the lowest CPU priority:
//! a burst of logins queues there and takes the CPU that task queries leave,
//! instead of stalling them (the `storm` benchmark).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use std::time::Instant;

use tokio::sync::oneshot;
use tracing::Instrument as _;

use crate::telemetry::Metrics;

type Job = Box<dyn FnOnce() + Send>;

/// Password hashing failed for a reason that is not the user's.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes and verifies passwords with the configured cost.
#[derive(Clone)]
pub struct Passwords {
    cost: u32,
    /// The queue of the hashing threads; they end when the last clone goes.
    jobs: Sender<Job>,
    /// Hash of a password nobody knows, verified for unknown emails so a
    /// login takes the same time whether or not the account exists.
    dummy_hash: Arc<str>,
    /// bcrypt verifications run so far, so tests and operators can see
    /// that rate limits really spare the CPU.
    verifications: Arc<AtomicU64>,
    metrics: Metrics,
}

impl Passwords {
    /// Computes the dummy hash once, at the configured cost.
    pub fn new(cost: u32, metrics: Metrics) -> Result<Self, HashError> {
        let dummy = bcrypt::hash("todo-graphql: no such account", cost).map_err(|e| HashError(e.to_string()))?;
        // Leave one core to everything else, so a login storm queues here
        // instead of starving task queries.
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).saturating_sub(1).max(1);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name("bcrypt".into())
                .spawn(move || work(&queue))
                .map_err(|e| HashError(format!("starting a hashing thread: {e}")))?;
        }
        Ok(Self { cost, jobs, dummy_hash: dummy.into(), verifications: Arc::default(), metrics })
    }

    /// bcrypt hash of `password` (already validated to at most 72 bytes).
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let cost = self.cost;
        self.blocking(move || bcrypt::hash(password, cost)).instrument(tracing::info_span!("password.hash")).await
    }

    /// Checks `password` against `hash`; with no hash (unknown account) it
    /// checks against the dummy hash and answers `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let ok = self
            .blocking(move || bcrypt::verify(password, &hash))
            .instrument(tracing::info_span!("password.verify"))
            .await?;
        Ok(ok && known)
    }

    /// How many bcrypt verifications have run.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = oneshot::channel();
        let metrics = self.metrics.clone();
        let job: Job = Box::new(move || {
            let started = Instant::now();
            let outcome = work();
            metrics.password_hashed(started.elapsed());
            metrics.password_queue(-1);
            // The asker may have gone (request abandoned); nothing to tell.
            let _ = done.send(outcome);
        });
        self.metrics.password_queue(1);
        if self.jobs.send(job).is_err() {
            self.metrics.password_queue(-1);
            return Err(HashError("hashing threads gone".into()));
        }
        result.await.map_err(|_| HashError("hashing thread failed".into()))?.map_err(|e| HashError(e.to_string()))
    }
}

/// One hashing thread: Linux's `SCHED_IDLE` policy (any other runnable
/// thread preempts it at once), then jobs until the queue closes. The
/// scheduler still gives such a thread a small share under contention, so
/// logins slow down during a storm but never starve.
fn work(queue: &Mutex<Receiver<Job>>) {
    use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(e) =
        thread_priority::set_thread_priority_and_policy(thread_priority::thread_native_id(), ThreadPriority::Min, idle)
    {
        tracing::warn!(error = %e, "bcrypt threads keep normal priority");
    }
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}
