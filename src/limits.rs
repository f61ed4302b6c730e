//! Brute-force defence (CONTRACT §7): failed logins per normalised email,
//! login attempts per client address, sign-ups per client address.
//!
//! All state is in memory and bounded: an attacker spraying emails or
//! addresses evicts the oldest entries instead of growing the maps.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use lru::LruCache;

use crate::config::Config;
use crate::telemetry::Metrics;

/// Most emails (and addresses) tracked at once.
const MAX_KEYS: usize = 100_000;

/// Refused for now; try again in `retry_after` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: u64,
}

/// The three limiters, built once and shared.
#[derive(Clone)]
pub struct Limits {
    email_failures: Arc<FailureCounter>,
    login_ip: Arc<KeyedLimiter>,
    signup_ip: Arc<KeyedLimiter>,
    metrics: Metrics,
}

impl Limits {
    pub fn new(config: &Config, metrics: Metrics) -> Self {
        Self {
            metrics,
            email_failures: Arc::new(FailureCounter::new(
                config.login_email_max_failures,
                Duration::from_secs(config.login_email_window),
            )),
            login_ip: Arc::new(KeyedLimiter::new(config.login_ip_max_attempts, config.login_ip_window)),
            signup_ip: Arc::new(KeyedLimiter::new(config.signup_ip_max, config.signup_ip_window)),
        }
    }

    /// Before a login runs: counts one attempt for the address and one
    /// (provisional) failure for the email, and refuses while either is
    /// limited (even with the right password).
    pub fn before_login(&self, email_key: &str, client: &str) -> Result<(), Limited> {
        self.login_ip.check(client).inspect_err(|_| self.metrics.rate_limited("login_ip"))?;
        self.email_failures.attempt(email_key).inspect_err(|_| self.metrics.rate_limited("login_email"))
    }

    /// A successful login resets the email's count (a failed one keeps the
    /// failure `before_login` counted).
    pub fn login_succeeded(&self, email_key: &str) {
        self.email_failures.reset(email_key);
    }

    /// Before a sign-up runs: counts one for the address.
    pub fn before_signup(&self, client: &str) -> Result<(), Limited> {
        self.signup_ip.check(client).inspect_err(|_| self.metrics.rate_limited("signup_ip"))
    }
}

/// A GCRA limiter per key (`governor`): `max` per `window`, as a burst
/// that refills evenly.
struct KeyedLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl KeyedLimiter {
    fn new(max: u32, window_secs: u64) -> Self {
        let max = NonZeroU32::new(max).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs(window_secs).checked_div(max.get()).unwrap_or(Duration::from_secs(1));
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(max);
        Self { limiter: RateLimiter::keyed(quota), clock: DefaultClock::default() }
    }

    fn check(&self, key: &str) -> Result<(), Limited> {
        if self.limiter.len() >= MAX_KEYS {
            // Forget keys whose bucket is full again; they are as good as new.
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| Limited { retry_after: not_until.wait_time_from(self.clock.now()).as_secs().max(1) })
    }
}

/// Failures per key in a fixed window that starts at the first failure.
struct FailureCounter {
    max: u32,
    window: Duration,
    entries: Mutex<LruCache<String, (u32, Instant)>>,
}

impl FailureCounter {
    fn new(max: u32, window: Duration) -> Self {
        let cap = std::num::NonZeroUsize::new(MAX_KEYS).unwrap_or(std::num::NonZeroUsize::MIN);
        Self { max, window, entries: Mutex::new(LruCache::new(cap)) }
    }

    /// Counts an attempt as a failure up front, in the same locked step as
    /// the check, so simultaneous attempts cannot all slip under the limit
    /// while their bcrypt checks run; a success then clears the count.
    fn attempt(&self, key: &str) -> Result<(), Limited> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match entries.get_mut(key) {
            Some((count, start)) if start.elapsed() < self.window => {
                if *count >= self.max {
                    let left = self.window.saturating_sub(start.elapsed());
                    return Err(Limited { retry_after: left.as_secs().max(1) });
                }
                *count += 1;
            }
            Some(entry) => *entry = (1, now),
            None => {
                entries.put(key.to_owned(), (1, now));
            }
        }
        Ok(())
    }

    fn reset(&self, key: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).pop(key);
    }
}
