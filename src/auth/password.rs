//! bcrypt hashing on the blocking pool, behind a bound, so a burst of
//! logins queues instead of stalling task queries on the async executor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

/// Password hashing failed for a reason that is not the user's.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes and verifies passwords with the configured cost.
#[derive(Clone)]
pub struct Passwords {
    cost: u32,
    permits: Arc<Semaphore>,
    /// Hash of a password nobody knows, verified for unknown emails so a
    /// login takes the same time whether or not the account exists.
    dummy_hash: Arc<str>,
    /// bcrypt verifications run so far, so tests and operators can see
    /// that rate limits really spare the CPU.
    verifications: Arc<AtomicU64>,
}

impl Passwords {
    /// Computes the dummy hash once, at the configured cost.
    pub fn new(cost: u32) -> Result<Self, HashError> {
        let dummy = bcrypt::hash("todo-graphql: no such account", cost).map_err(|e| HashError(e.to_string()))?;
        // Leave one core to everything else, so a login storm queues here
        // instead of starving task queries.
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).saturating_sub(1).max(1);
        Ok(Self {
            cost,
            permits: Arc::new(Semaphore::new(workers)),
            dummy_hash: dummy.into(),
            verifications: Arc::default(),
        })
    }

    /// bcrypt hash of `password` (already validated to at most 72 bytes).
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let cost = self.cost;
        self.blocking(move || bcrypt::hash(password, cost)).await
    }

    /// Checks `password` against `hash`; with no hash (unknown account) it
    /// checks against the dummy hash and answers `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let ok = self.blocking(move || bcrypt::verify(password, &hash)).await?;
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
        let _permit = self.permits.acquire().await.map_err(|e| HashError(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashError(e.to_string()))?
            .map_err(|e| HashError(e.to_string()))
    }
}
