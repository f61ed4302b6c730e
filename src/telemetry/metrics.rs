//! The Prometheus metrics of CONTRACT §12, counted where things happen (the
//! HTTP edge, the GraphQL edge, the limiter, the event hub, the password
//! threads) and served on a listener of their own.
//!
//! [`Metrics::off`] (no `METRICS_ADDR`) holds nothing: every count is one
//! branch on `None`, so a server without a scraper pays nothing for it.
//! Labels are fixed words, status codes and the client's operation names
//! (at most [`MAX_OPERATION_NAMES`] of them): never a token, email, id or
//! task text.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use sea_orm::DatabaseConnection;

/// Distinct `operation_name` values kept; later names count as `other`.
pub const MAX_OPERATION_NAMES: usize = 200;
/// Longer operation names count as `other` too (a label is not a payload).
const MAX_OPERATION_NAME_LEN: usize = 100;

/// Request latency buckets, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];
/// bcrypt buckets, in seconds: cost 4 takes about 1 ms, cost 12 about 250 ms.
const HASH_BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation_type: &'static str,
    operation_name: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabel {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The metrics of one server; cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Inner>>);

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
    operations: Family<OperationLabels, Counter>,
    names: RwLock<HashMap<Box<str>, Arc<str>>>,
    other: Arc<str>,
    anonymous: Arc<str>,
    errors: Family<CodeLabel, Counter>,
    auth_failures: Family<ReasonLabel, Counter>,
    rate_limited: Family<LimitLabel, Counter>,
    api_token_verifications: Family<ResultLabel, Counter>,
    ws_connections: Gauge,
    ws_subscriptions: Gauge,
    events_published: Counter,
    events_delivered: Counter,
    events_dropped: Counter,
    hash_duration: Histogram,
    hash_queue: Gauge,
}

impl Metrics {
    /// Nothing counted, nothing served.
    pub fn off() -> Self {
        Self(None)
    }

    /// Every metric of §12, the pool's connections read from `db` at each
    /// scrape, and this process's `process_*`.
    pub fn new(db: Option<DatabaseConnection>) -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_server_requests", "HTTP requests answered", http_requests.clone());
        let http_duration = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "http_server_request_duration",
            "Time from request to response head",
            Unit::Seconds,
            http_duration.clone(),
        );
        let operations = Family::<OperationLabels, Counter>::default();
        registry.register("graphql_operations", "GraphQL operations run, by type and client name", operations.clone());
        let errors = Family::<CodeLabel, Counter>::default();
        registry.register("graphql_errors", "GraphQL errors sent, by extensions.code", errors.clone());
        let auth_failures = Family::<ReasonLabel, Counter>::default();
        registry.register("auth_failures", "Refused credentials, by reason", auth_failures.clone());
        let rate_limited = Family::<LimitLabel, Counter>::default();
        registry.register("rate_limited", "Requests refused by a rate limit, by limit", rate_limited.clone());
        let api_token_verifications = Family::<ResultLabel, Counter>::default();
        registry.register("api_token_verifications", "API tokens checked, by result", api_token_verifications.clone());
        let ws_connections = Gauge::default();
        registry.register("ws_connections", "Open WebSockets on this replica", ws_connections.clone());
        let ws_subscriptions = Gauge::default();
        registry.register("ws_subscriptions", "Running subscriptions on this replica", ws_subscriptions.clone());
        let events_published = Counter::default();
        registry.register("task_events_published", "Task events this replica committed", events_published.clone());
        let events_delivered = Counter::default();
        registry.register(
            "task_events_delivered",
            "Task events handed to subscribers on this replica",
            events_delivered.clone(),
        );
        let events_dropped = Counter::default();
        registry.register(
            "task_events_dropped",
            "Task events a slow subscriber missed (its buffer overflowed)",
            events_dropped.clone(),
        );
        let hash_duration = Histogram::new(HASH_BUCKETS);
        registry.register_with_unit(
            "password_hash_duration",
            "bcrypt work per hash or verification, queueing excluded",
            Unit::Seconds,
            hash_duration.clone(),
        );
        let hash_queue = Gauge::default();
        registry.register("password_hash_queue", "Password jobs waiting for or on a bcrypt thread", hash_queue.clone());
        if let Some(db) = db {
            registry.register_collector(Box::new(PoolCollector(db)));
        }
        registry.register_collector(Box::new(ProcessCollector));
        Self(Some(Arc::new(Inner {
            registry,
            http_requests,
            http_duration,
            operations,
            names: RwLock::default(),
            other: Arc::from("other"),
            anonymous: Arc::from("anonymous"),
            errors,
            auth_failures,
            rate_limited,
            api_token_verifications,
            ws_connections,
            ws_subscriptions,
            events_published,
            events_delivered,
            events_dropped,
            hash_duration,
            hash_queue,
        })))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        if let Some(inner) = &self.0 {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &inner.registry)?;
        }
        Ok(out)
    }

    /// One HTTP response. `route` is the matched route template.
    pub fn http_request(&self, method: &'static str, route: &'static str, status: u16, elapsed: Duration) {
        if let Some(inner) = &self.0 {
            let labels = HttpLabels { method, route, status };
            inner.http_requests.get_or_create(&labels).inc();
            inner.http_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
        }
    }

    /// One GraphQL operation about to run.
    pub fn operation(&self, operation_type: &'static str, name: Option<&str>) {
        if let Some(inner) = &self.0 {
            let operation_name = inner.operation_name(name);
            inner.operations.get_or_create(&OperationLabels { operation_type, operation_name }).inc();
        }
    }

    /// One error sent to a client, by its `extensions.code`.
    pub fn error(&self, code: &'static str) {
        if let Some(inner) = &self.0 {
            inner.errors.get_or_create(&CodeLabel { code }).inc();
        }
    }

    /// Credentials refused (`reason` is a fixed word, never the credential).
    pub fn auth_failure(&self, reason: &'static str) {
        if let Some(inner) = &self.0 {
            inner.auth_failures.get_or_create(&ReasonLabel { reason }).inc();
        }
    }

    /// A request refused by one of the limits of §7.
    pub fn rate_limited(&self, limit: &'static str) {
        if let Some(inner) = &self.0 {
            inner.rate_limited.get_or_create(&LimitLabel { limit }).inc();
        }
    }

    /// An API token checked: `valid`, `unknown`, `revoked`, `expired`, `malformed`.
    pub fn api_token_verification(&self, result: &'static str) {
        if let Some(inner) = &self.0 {
            inner.api_token_verifications.get_or_create(&ResultLabel { result }).inc();
        }
    }

    /// A WebSocket opened (`+1`) or closed (`-1`).
    pub fn ws_connection(&self, delta: i64) {
        if let Some(inner) = &self.0 {
            inner.ws_connections.inc_by(delta);
        }
    }

    /// A subscription started (`+1`) or ended (`-1`).
    pub fn ws_subscription(&self, delta: i64) {
        if let Some(inner) = &self.0 {
            inner.ws_subscriptions.inc_by(delta);
        }
    }

    pub fn event_published(&self) {
        if let Some(inner) = &self.0 {
            inner.events_published.inc();
        }
    }

    pub fn events_delivered(&self, n: u64) {
        if let Some(inner) = &self.0 {
            inner.events_delivered.inc_by(n);
        }
    }

    pub fn events_dropped(&self, n: u64) {
        if let Some(inner) = &self.0 {
            inner.events_dropped.inc_by(n);
        }
    }

    /// One bcrypt job done, its time on the thread.
    pub fn password_hashed(&self, elapsed: Duration) {
        if let Some(inner) = &self.0 {
            inner.hash_duration.observe(elapsed.as_secs_f64());
        }
    }

    /// A password job queued (`+1`) or finished (`-1`).
    pub fn password_queue(&self, delta: i64) {
        if let Some(inner) = &self.0 {
            inner.hash_queue.inc_by(delta);
        }
    }
}

impl Inner {
    /// The label of a client's operation name: itself while fewer than 200
    /// names have been seen (no allocation once seen), else `other`.
    fn operation_name(&self, name: Option<&str>) -> Arc<str> {
        let Some(name) = name.filter(|n| !n.is_empty()) else { return self.anonymous.clone() };
        if name.len() > MAX_OPERATION_NAME_LEN {
            return self.other.clone();
        }
        if let Some(known) = self.names.read().unwrap_or_else(|p| p.into_inner()).get(name) {
            return known.clone();
        }
        let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = names.get(name) {
            return known.clone();
        }
        if names.len() >= MAX_OPERATION_NAMES {
            return self.other.clone();
        }
        let label: Arc<str> = Arc::from(name);
        names.insert(name.into(), label.clone());
        label
    }
}

/// `db_pool_connections{state}`, read from the pool at each scrape.
#[derive(Debug)]
struct PoolCollector(DatabaseConnection);

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (size, idle) = crate::db::pool_state(&self.0);
        let family = encoder.encode_descriptor(
            "db_pool_connections",
            "Database pool connections, by state",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        let mut family = family;
        for (state, value) in [("idle", idle), ("in_use", size.saturating_sub(idle))] {
            let labels = [("state", state)];
            let gauge = ConstGauge::new(i64::from(value));
            gauge.encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// The usual `process_*` metrics, from `/proc/self` (Linux; elsewhere none).
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(process) = super::process::read() else { return Ok(()) };
        let cpu = ConstCounter::new(process.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu",
            "User and system CPU time spent",
            Some(&Unit::Seconds),
            cpu.metric_type(),
        )?)?;
        for (name, help, value) in [
            ("process_resident_memory_bytes", "Resident memory size", process.resident_bytes),
            ("process_virtual_memory_bytes", "Virtual memory size", process.virtual_bytes),
            ("process_open_fds", "Open file descriptors", process.open_fds),
            ("process_max_fds", "Limit of open file descriptors", process.max_fds),
            ("process_threads", "OS threads", process.threads),
        ] {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let start = ConstGauge::new(process.start_time_seconds);
        start.encode(encoder.encode_descriptor(
            "process_start_time",
            "Start time since the Unix epoch",
            Some(&Unit::Seconds),
            start.metric_type(),
        )?)?;
        Ok(())
    }
}
