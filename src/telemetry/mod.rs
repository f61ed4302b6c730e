//! What operators see besides logs (CONTRACT §12): Prometheus metrics on a
//! listener of their own, and OpenTelemetry traces over OTLP/HTTP.

pub mod metrics;
mod process;
pub mod server;
pub mod traces;

pub use metrics::Metrics;
