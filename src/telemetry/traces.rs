//! OpenTelemetry traces over OTLP/HTTP (CONTRACT §12), configured by the
//! standard `OTEL_*` variables and off, at no cost, when no endpoint is set.
//!
//! Spans: one per HTTP request (`http/router.rs`), one per GraphQL operation
//! (`graphql/response.rs`, `http/ws.rs`), one per password hash
//! (`auth/password.rs`) and one per database statement (here, from
//! sea-orm's statement callback, timed by sea-orm). An incoming W3C
//! `traceparent` is continued. No attribute holds a token, a password or
//! GraphQL variables: statements are recorded as SQL with placeholders.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry::{global, KeyValue};
use opentelemetry_sdk::trace::SdkTracerProvider;
use sea_orm::DatabaseConnection;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// The tracer's name in every span's instrumentation scope.
const SCOPE: &str = "todo-graphql";

/// Whether spans are exported (an OTLP endpoint is configured).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Ends the exporter at shutdown, sending what is still buffered.
pub struct Traces(SdkTracerProvider);

impl Traces {
    pub fn shutdown(self) {
        if let Err(e) = self.0.shutdown() {
            eprintln!("warning: flushing traces at shutdown failed: {e}");
        }
    }
}

/// Whether the `OTEL_*` environment asks for traces: an endpoint is set,
/// the SDK is not disabled and the exporter is not `none`.
pub fn requested() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let endpoint = set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let exporter_none = std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|v| v.trim().eq_ignore_ascii_case("none"));
    endpoint && !disabled && !exporter_none
}

/// The exporter and the tracing layer, when [`requested`]. The sampler
/// (`OTEL_TRACES_SAMPLER`), batch settings (`OTEL_BSP_*`), endpoint, headers
/// and timeout are read by the SDK itself; `service.name` is
/// `OTEL_SERVICE_NAME`, else `todo-graphql`.
pub fn init<S>() -> anyhow::Result<Option<(Traces, impl tracing_subscriber::Layer<S>)>>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    if !requested() {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build()?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name(SCOPE);
    }
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build();
    global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    global::set_tracer_provider(provider.clone());
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer(SCOPE)).with_tracked_inactivity(false);
    ENABLED.store(true, Ordering::Relaxed);
    Ok(Some((Traces(provider), layer)))
}

/// Continues the caller's trace: the W3C `traceparent` of `headers`, if
/// any, becomes the parent of `span`.
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if !enabled() {
        return;
    }
    let parent = global::get_text_map_propagator(|p| p.extract(&opentelemetry_http::HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

/// Renames the exported span of `span` (its name is fixed once its
/// context exists, as it does from the start for a continued trace).
pub fn rename(span: &tracing::Span, name: String) {
    if enabled() {
        use opentelemetry::trace::TraceContextExt as _;
        span.context().span().update_name(name);
    }
}

/// One span per statement, as a child of the current span, when traces are
/// exported: sea-orm calls back after each statement with its duration.
pub fn trace_statements(db: &mut DatabaseConnection) {
    if !enabled() {
        return;
    }
    let system = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "postgresql",
        _ => "sqlite",
    };
    db.set_metric_callback(move |info| {
        // Statements outside a request (the event dispatcher, the API-token
        // `lastUsedAt` writer) would each start a trace of their own: noise.
        let current = tracing::Span::current();
        if current.is_none() {
            return;
        }
        let end = SystemTime::now();
        let start = end.checked_sub(info.elapsed).unwrap_or(end);
        let sql = info.statement.sql.as_str();
        let operation = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let parent = current.context();
        let tracer = global::tracer(SCOPE);
        let mut span = tracer
            .span_builder(if operation.is_empty() { system.to_owned() } else { format!("{operation} {system}") })
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes([
                KeyValue::new("db.system.name", system),
                KeyValue::new("db.operation.name", operation),
                // Placeholders only: sea-orm keeps values apart from the text.
                KeyValue::new("db.query.text", sql.to_owned()),
            ])
            .start_with_context(&tracer, &parent);
        if info.failed {
            span.set_status(Status::error("statement failed"));
        }
        span.end_with_timestamp(end);
    });
}
