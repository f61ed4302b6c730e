//! Process configuration: every setting is an environment variable and a
//! `--kebab-case` flag (CONTRACT §1). Only `main` parses it; the library takes
//! a finished [`Config`], so tests build one in code.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Command line of the `todo-graphql` binary.
#[derive(Debug, Parser)]
#[command(name = "todo-graphql", version, about = "A multi-user todo API served as GraphQL")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

/// What the binary does; `serve` when none is named.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve GraphQL over HTTP (the default).
    Serve,
    /// Print the GraphQL schema (SDL) to stdout.
    ExportSchema,
    /// Apply pending migrations and exit.
    Migrate,
}

/// Every runtime setting of the server (CONTRACT §1).
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://todo.db?mode=rwc", global = true)]
    pub database_url: String,

    /// Connections in the pool: 8 on SQLite, 16 on PostgreSQL unless set.
    /// Behind several replicas, replicas x this must fit the server's
    /// `max_connections`.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub database_max_connections: Option<u32>,

    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8000", global = true)]
    pub bind_addr: SocketAddr,

    /// HS256 secret of at least 32 bytes. Without it (SQLite only) one is
    /// generated once and kept in a 0600 file beside the database.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// `iss` of the tokens this server signs, checked on every token.
    #[arg(long, env = "JWT_ISSUER", default_value = "todo-graphql", global = true)]
    pub jwt_issuer: String,

    /// `aud` of the tokens this server signs, checked on every token.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "todo-graphql", global = true)]
    pub jwt_audience: String,

    /// Access-token lifetime in seconds (at most a year).
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000), global = true)]
    pub access_token_ttl: u64,

    /// Refresh-token lifetime in seconds (at most ten years).
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value_t = 1_209_600,
          value_parser = clap::value_parser!(u64).range(1..=315_360_000), global = true)]
    pub refresh_token_ttl: u64,

    /// bcrypt cost, 4 to 31.
    #[arg(long, env = "BCRYPT_COST", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(4..=31), global = true)]
    pub bcrypt_cost: u32,

    /// Comma-separated origins allowed by CORS; none means same-origin only.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_allowed_origins: Vec<String>,

    /// `false` hides the schema from introspection and turns off "Did you
    /// mean" suggestions.
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value_t = true,
          action = clap::ArgAction::Set, global = true)]
    pub graphql_introspection: bool,

    /// `false` serves no GraphiQL page.
    #[arg(long, env = "GRAPHIQL", default_value_t = true,
          action = clap::ArgAction::Set, global = true)]
    pub graphiql: bool,

    /// Maximum depth of a GraphQL document (fragments included).
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 16, global = true)]
    pub graphql_max_depth: usize,

    /// Maximum complexity of a GraphQL document: its fields as it would
    /// run (aliases, `__typename` and fragments included).
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = 1000, global = true)]
    pub graphql_max_complexity: usize,

    /// Maximum aliased fields in one GraphQL document, counted as it would
    /// run (fragments included).
    #[arg(long, env = "GRAPHQL_MAX_ALIASES", default_value_t = 30, global = true)]
    pub graphql_max_aliases: usize,

    /// Maximum number of operations in one batched request.
    #[arg(long, env = "GRAPHQL_MAX_BATCH", default_value_t = 10, global = true)]
    pub graphql_max_batch: usize,

    /// Maximum directives on one field.
    #[arg(long, env = "GRAPHQL_MAX_DIRECTIVES", default_value_t = 8, global = true)]
    pub graphql_max_directives: usize,

    /// Maximum request body in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Old `JWT_SECRET`s, comma-separated: still accepted for verification
    /// (rotation), never used to sign.
    #[arg(long, env = "JWT_PREVIOUS_SECRETS", value_delimiter = ',', hide_env_values = true, global = true)]
    pub jwt_previous_secrets: Vec<String>,

    /// JWKS URL of an external identity provider (e.g. Better Auth's
    /// `http://localhost:3000/api/auth/jwks`); enables its tokens.
    #[arg(long, env = "AUTH_JWKS_URL", global = true)]
    pub auth_jwks_url: Option<String>,

    /// Exact `iss` of external tokens; required with the JWKS URL and
    /// different from `JWT_ISSUER`.
    #[arg(long, env = "AUTH_EXTERNAL_ISSUER", global = true)]
    pub auth_external_issuer: Option<String>,

    /// Audience that must be in external tokens' `aud`; required with the
    /// JWKS URL.
    #[arg(long, env = "AUTH_EXTERNAL_AUDIENCE", global = true)]
    pub auth_external_audience: Option<String>,

    /// The only algorithms accepted from the external issuer (asymmetric
    /// only: HS* and none are refused).
    #[arg(
        long,
        env = "AUTH_EXTERNAL_ALGORITHMS",
        value_delimiter = ',',
        default_value = "EdDSA,ES256,RS256,PS256",
        global = true
    )]
    pub auth_external_algorithms: Vec<String>,

    /// The claim of external tokens that holds their scopes (a
    /// space-separated string or an array of strings).
    #[arg(long, env = "AUTH_EXTERNAL_SCOPE_CLAIM", default_value = "scope", global = true)]
    pub auth_external_scope_claim: String,

    /// Scopes of an external token without that claim (Better Auth's `jwt`
    /// plugin sends none), comma-separated.
    #[arg(
        long,
        env = "AUTH_EXTERNAL_DEFAULT_SCOPES",
        value_delimiter = ',',
        default_value = "tasks:read,tasks:write,profile:read,account",
        global = true
    )]
    pub auth_external_default_scopes: Vec<String>,

    /// Open WebSockets allowed per user on one replica.
    #[arg(long, env = "WS_MAX_SOCKETS_PER_USER", default_value_t = 50, global = true)]
    pub ws_max_sockets_per_user: usize,

    /// Seconds a WebSocket client has to send `connection_init`.
    #[arg(long, env = "WS_INIT_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub ws_init_timeout: u64,

    /// Active subscriptions allowed per WebSocket.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value_t = 20, global = true)]
    pub ws_max_subscriptions: usize,

    /// Failed logins allowed per normalised email within the window.
    #[arg(long, env = "LOGIN_EMAIL_MAX_FAILURES", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub login_email_max_failures: u32,

    /// Window of the per-email failure count, in seconds.
    #[arg(long, env = "LOGIN_EMAIL_WINDOW", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub login_email_window: u64,

    /// Login attempts allowed per client address within the window.
    #[arg(long, env = "LOGIN_IP_MAX_ATTEMPTS", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub login_ip_max_attempts: u32,

    /// Window of the per-address login count, in seconds.
    #[arg(long, env = "LOGIN_IP_WINDOW", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub login_ip_window: u64,

    /// Sign-ups allowed per client address within the window.
    #[arg(long, env = "SIGNUP_IP_MAX", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub signup_ip_max: u32,

    /// Window of the per-address sign-up count, in seconds.
    #[arg(long, env = "SIGNUP_IP_WINDOW", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub signup_ip_window: u64,

    /// Take the client address from `X-Forwarded-For` (its last entry, the
    /// one the proxy in front of this server added). Only behind a proxy.
    #[arg(long, env = "TRUST_PROXY_HEADERS", default_value_t = false,
          action = clap::ArgAction::Set, global = true)]
    pub trust_proxy_headers: bool,

    /// `text` or `json`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,

    /// Log filter (tracing's EnvFilter syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info", global = true)]
    pub rust_log: String,
}

impl Config {
    /// The SQLite database file named by `database_url`, if it names one.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite://").or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return None;
        }
        Some(PathBuf::from(path))
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")
    }
}

/// The defaults of CONTRACT §1, without reading the environment (tests and
/// embedders start from here). A test checks they match clap's defaults.
impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://todo.db?mode=rwc".into(),
            database_max_connections: None,
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            jwt_secret: None,
            jwt_issuer: "todo-graphql".into(),
            jwt_audience: "todo-graphql".into(),
            access_token_ttl: 900,
            refresh_token_ttl: 1_209_600,
            bcrypt_cost: 12,
            cors_allowed_origins: Vec::new(),
            graphql_introspection: true,
            graphiql: true,
            graphql_max_depth: 16,
            graphql_max_complexity: 1000,
            graphql_max_aliases: 30,
            graphql_max_batch: 10,
            graphql_max_directives: 8,
            max_body_bytes: 64 * 1024,
            jwt_previous_secrets: Vec::new(),
            auth_jwks_url: None,
            auth_external_issuer: None,
            auth_external_audience: None,
            auth_external_algorithms: ["EdDSA", "ES256", "RS256", "PS256"].map(String::from).to_vec(),
            auth_external_scope_claim: "scope".into(),
            auth_external_default_scopes: ["tasks:read", "tasks:write", "profile:read", "account"]
                .map(String::from)
                .to_vec(),
            ws_max_sockets_per_user: 50,
            ws_max_subscriptions: 20,
            ws_init_timeout: 10,
            login_email_max_failures: 10,
            login_email_window: 900,
            login_ip_max_attempts: 100,
            login_ip_window: 900,
            signup_ip_max: 20,
            signup_ip_window: 3600,
            trust_proxy_headers: false,
            log_format: "text".into(),
            rust_log: "info".into(),
        }
    }
}
