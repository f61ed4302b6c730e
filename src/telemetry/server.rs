//! The metrics listener: `GET /metrics` on `METRICS_ADDR`, never on the
//! API's port, so it can be firewalled apart from the API.

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::Metrics;

/// A bound metrics listener, not yet serving.
pub struct MetricsServer {
    listener: TcpListener,
    metrics: Metrics,
}

impl MetricsServer {
    pub async fn bind(addr: SocketAddr, metrics: Metrics) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind(addr).await.with_context(|| format!("METRICS_ADDR: cannot listen on {addr}"))?;
        Ok(Self { listener, metrics })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `signal` completes.
    pub async fn serve(self, signal: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let router = Router::new().route("/metrics", get(scrape)).with_state(self.metrics);
        axum::serve(self.listener, router).with_graceful_shutdown(signal).await
    }
}

async fn scrape(State(metrics): State<Metrics>) -> Response {
    match metrics.encode() {
        Ok(text) => {
            ([(CONTENT_TYPE, prometheus_client::encoding::prometheus_text::CONTENT_TYPE)], text).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "encoding the metrics failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
        }
    }
}
