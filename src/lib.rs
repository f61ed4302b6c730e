//! todo-graphql: a multi-user todo API served as GraphQL.
//!
//! [`Application::build`] wires configuration, database, keys and schema
//! together, binds, and reports its port; [`build_schema`] makes the
//! executable schema from state built elsewhere.

pub mod auth;
pub mod config;
pub mod db;
pub mod events;
pub mod graphql;
pub mod http;
pub mod limits;
pub mod service;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

pub use config::Config;
pub use graphql::build_schema;
use service::Services;

use auth::{Keys, Verifier};
use http::AppState;

/// A server ready to serve: migrated database, keys, schema, bound socket.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    db: DatabaseConnection,
    services: Services,
    metrics: Option<telemetry::server::MetricsServer>,
    metrics_addr: Option<SocketAddr>,
    bus: Arc<dyn events::EventBus>,
}

impl Application {
    /// Resolves the secret, connects and migrates the database, builds the
    /// keys and schema once, and binds `config.bind_addr`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let secret = auth::secret::resolve(&config)?;
        let previous = auth::secret::previous(&config)?;
        let external = auth::jwks::ExternalConfig::from_config(&config)
            .and_then(|c| c.map(auth::ExternalIssuer::new).transpose())
            .map_err(anyhow::Error::msg)?
            .map(Arc::new);
        // Migrations run through a pool of their own, closed before the
        // serving pool opens: an SQLite connection that loaded the schema
        // mid-migration keeps that stale copy and refuses statements the
        // final schema allows (an upsert naming a unique index made later).
        let migrator = connect(&config).await?;
        db::migrate(&migrator).await.context("applying database migrations")?;
        migrator.close().await.context("closing the migration connection")?;
        let mut db = connect(&config).await?;
        telemetry::traces::trace_statements(&mut db);
        let metrics = match config.metrics_addr {
            Some(_) => telemetry::Metrics::new(Some(db.clone())),
            None => telemetry::Metrics::off(),
        };
        let keys = Arc::new(
            Keys::new(
                &secret,
                &config.jwt_issuer,
                &config.jwt_audience,
                config.access_token_ttl,
                config.refresh_token_ttl,
            )
            .with_previous_secrets(&previous),
        );
        // SQLite task reads skip sqlx's worker thread (`db::sqlite_reads`).
        let reads = match config.sqlite_file() {
            Some(path) => Some(db::sqlite_reads::SqliteReads::open(&path).context("cannot read the SQLite database")?),
            None => None,
        };
        let hub = events::Hub::new(
            service::tasks::Tasks::new(db.clone()).with_reads(reads.clone()),
            config.ws_max_sockets_per_user,
            metrics.clone(),
        );
        let bus = events::bus_for(&db, hub.clone());
        let mut services = Services::new(db.clone(), keys.clone(), &config, bus.clone(), metrics.clone())?;
        services.tasks = services.tasks.with_reads(reads);
        let schema = graphql::schema_from(services.clone(), hub.clone(), &config);
        let state = AppState::new(http::Shared {
            schema,
            guard: Arc::new(graphql::document_guard(&config)),
            verifier: Verifier::new(keys, external).with_api_tokens(db.clone(), &hub, metrics.clone()),
            accounts: services.accounts.clone(),
            db: db.clone(),
            max_batch: config.graphql_max_batch,
            graphiql: config.graphiql,
            trust_proxy_headers: config.trust_proxy_headers,
            cors_origins: config.cors_allowed_origins.iter().map(|o| o.trim().to_owned()).collect(),
            hub,
            ws_max_subscriptions: config.ws_max_subscriptions,
            ws_init_timeout: std::time::Duration::from_secs(config.ws_init_timeout),
            max_body_bytes: config.max_body_bytes,
            sdl: config.graphql_introspection.then(|| graphql::sdl().into()),
            metrics: metrics.clone(),
        });
        let router = http::router::router(state, &config).map_err(anyhow::Error::msg)?;
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind_addr))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let (metrics, metrics_addr) = match config.metrics_addr {
            Some(at) => {
                let server = telemetry::server::MetricsServer::bind(at, metrics).await?;
                let bound = server.local_addr().context("reading the metrics address")?;
                (Some(server), Some(bound))
            }
            None => (None, None),
        };
        Ok(Self { listener, router, addr, db, services, metrics, metrics_addr, bus })
    }

    /// The metrics listener's address, when `METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The address actually bound (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The database pool, for tests and tools.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The services, to read their counters (bcrypt verifications).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until Ctrl-C or SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes, then drains in-flight requests.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        use futures_util::FutureExt as _;
        tracing::info!(addr = %self.addr, "listening on http://{}/graphql", self.addr);
        let signal = signal.shared();
        if let (Some(server), Some(at)) = (self.metrics, self.metrics_addr) {
            tracing::info!(addr = %at, "metrics on http://{at}/metrics");
            let stop = signal.clone();
            tokio::spawn(async move {
                if let Err(e) = server.serve(stop).await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service).with_graceful_shutdown(signal).await?;
        self.bus.shutdown();
        // Closing waits for connections in use; a stuck one must not hold the exit.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.db.close()).await;
        Ok(())
    }
}

/// Connects with a one-line error naming the database kind, never the
/// full URL (it may hold a password).
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = config.database_url.expose();
    if !(url.starts_with("sqlite:") || config.is_postgres()) {
        anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://");
    }
    let kind = if config.is_postgres() { "PostgreSQL" } else { "SQLite" };
    db::connect(url, config.database_max_connections).await.with_context(|| format!("cannot open the {kind} database"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
