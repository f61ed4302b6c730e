//! Process configuration: every setting is an environment variable and a
//! `--kebab-case` flag (CONTRACT §1). Only `main` parses it; the library takes
//! a finished [`Config`], so tests build one in code.
//!
//! Each default is written once, in its clap attribute ([`Config::default`]
//! reads them back); secrets are [`SecretString`]s, whose `Debug` shows
//! nothing, and the database URL's password is hidden the same way.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

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
    /// Print the effective configuration (secrets redacted) and exit.
    Config,
}

/// Every runtime setting of the server (CONTRACT §1).
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://todo.db?mode=rwc",
          value_parser = DatabaseUrl::parse, global = true)]
    pub database_url: DatabaseUrl,

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
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, value_parser = secret, global = true)]
    pub jwt_secret: Option<SecretString>,

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

    /// `false` serves no web app at `/` (CONTRACT §11).
    #[arg(long, env = "WEB_APP", default_value_t = true,
          action = clap::ArgAction::Set, global = true)]
    pub web_app: bool,

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
    #[arg(long, env = "JWT_PREVIOUS_SECRETS", value_delimiter = ',', hide_env_values = true,
          value_parser = secret, global = true)]
    pub jwt_previous_secrets: Vec<SecretString>,

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
        value_parser = external_algorithm,
        global = true
    )]
    pub auth_external_algorithms: Vec<ExternalAlgorithm>,

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

    /// Log lines as text for people or JSON for collectors.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Address of the Prometheus listener (`GET /metrics`), never the API's
    /// port; unset, nothing is counted (CONTRACT §12).
    #[arg(long, env = "METRICS_ADDR", global = true)]
    pub metrics_addr: Option<SocketAddr>,

    /// Log filter (tracing's EnvFilter syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info", global = true)]
    pub rust_log: String,
}

impl Config {
    /// The SQLite database file named by `database_url`, if it names one.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let url = self.database_url.expose();
        let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory") {
            return None;
        }
        Some(PathBuf::from(path))
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        let url = self.database_url.expose();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The asymmetric algorithms an external issuer may sign with (HS* and
/// `none` are refused at parse time: a shared secret is not a JWKS key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalAlgorithm(pub jsonwebtoken::Algorithm);

fn external_algorithm(name: &str) -> Result<ExternalAlgorithm, String> {
    use jsonwebtoken::Algorithm::*;
    Ok(ExternalAlgorithm(match name.trim() {
        "EdDSA" => EdDSA,
        "ES256" => ES256,
        "ES384" => ES384,
        "RS256" => RS256,
        "RS384" => RS384,
        "RS512" => RS512,
        "PS256" => PS256,
        "PS384" => PS384,
        "PS512" => PS512,
        n if n.to_ascii_uppercase().starts_with("HS") || n.eq_ignore_ascii_case("none") => {
            return Err(format!("{n} may not be listed: only asymmetric algorithms"));
        }
        n => return Err(format!("unsupported algorithm {n:?} (EdDSA, ES256/384, RS256/384/512, PS256/384/512)")),
    }))
}

fn secret(value: &str) -> Result<SecretString, Infallible> {
    Ok(SecretString::from(value))
}

/// A database URL, which may hold a password: `Debug` and [`Self::redacted`]
/// show it with the password replaced.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    fn parse(value: &str) -> Result<Self, Infallible> {
        Ok(Self::from(value))
    }

    /// The URL itself, for the driver only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with any password (`user:password@`, `password=` in the
    /// query) replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(self.expose())
    }
}

impl From<&str> for DatabaseUrl {
    fn from(value: &str) -> Self {
        Self(SecretString::from(value))
    }
}

impl From<String> for DatabaseUrl {
    fn from(value: String) -> Self {
        Self(SecretString::from(value))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

/// `scheme://user:secret@host/db?password=secret` → `scheme://user:***@host/db?password=***`.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = match head.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***@{host}"),
                    None => format!("{userinfo}@{host}"),
                },
                None => authority.to_owned(),
            };
            match path {
                Some(path) => format!("{scheme}://{authority}/{path}"),
                None => format!("{scheme}://{authority}"),
            }
        }
        None => head.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword") => {
                    format!("{key}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// The effective configuration as `NAME=value` lines, one per setting,
/// with where each value came from; secrets print as `[redacted]`.
pub fn describe(matches: &ArgMatches) -> String {
    let mut out = String::new();
    let command = Cli::command();
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env().and_then(|e| e.to_str()) else { continue };
        let id = arg.get_id().as_str();
        let source = match matches.value_source(id) {
            Some(clap::parser::ValueSource::CommandLine) => "flag",
            Some(clap::parser::ValueSource::EnvVariable) => "environment",
            Some(clap::parser::ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        let raw: Vec<String> = matches
            .get_raw(id)
            .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = if raw.is_empty() {
            String::new()
        } else if arg.is_hide_env_values_set() {
            "[redacted]".to_owned()
        } else if env == "DATABASE_URL" {
            raw.iter().map(|v| redact_url(v)).collect::<Vec<_>>().join(",")
        } else {
            raw.join(",")
        };
        out.push_str(&format!("{env}={value}  # {source}\n"));
    }
    out
}

/// The defaults of CONTRACT §1 as clap declares them, without reading the
/// environment (tests and embedders start from here).
impl Default for Config {
    fn default() -> Self {
        let command = Config::augment_args(clap::Command::new("defaults")).mut_args(|arg| arg.env(None));
        command
            .try_get_matches_from(["defaults"])
            .map_err(|e| e.to_string())
            .and_then(|matches| Config::from_arg_matches(&matches).map_err(|e| e.to_string()))
            .unwrap_or_else(|e| unreachable!("clap's own defaults parse: {e}"))
    }
}
