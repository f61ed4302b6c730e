//! Start-up and configuration (CONTRACT §1): bad settings end start-up
//! with one line and a non-zero exit, never a panic.

use std::process::Command;

use crate::helpers::{test_config, Backend, TestApp};

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_todo-graphql"));
    cmd.args(args).current_dir(dir.path()).env_clear().env("BIND_ADDR", "127.0.0.1:0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Every case here fails before serving, so the process ends by itself.
    let out = cmd.output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[track_caller]
fn assert_refused(env: &[(&str, &str)], mentions: &str) {
    let (ok, _, stderr) = run(&[], env);
    assert!(!ok, "start-up must fail for {env:?}");
    let last = stderr.lines().filter(|l| l.starts_with("error")).collect::<Vec<_>>();
    assert_eq!(last.len(), 1, "one line: {stderr}");
    assert!(last[0].contains(mentions), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_short_secret_stops_start_up_with_one_line() {
    assert_refused(&[("JWT_SECRET", "0123456789abcdef0123456789abcde")], "at least 32 bytes");
    assert_refused(&[("JWT_SECRET", "too-short")], "at least 32 bytes");
}

#[test]
fn postgres_without_a_secret_stops_start_up() {
    assert_refused(&[("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")], "JWT_SECRET is required");
}

#[test]
fn a_bad_database_url_stops_start_up() {
    assert_refused(&[("DATABASE_URL", "mysql://nope"), ("JWT_SECRET", "x".repeat(40).as_str())], "DATABASE_URL");
}

#[test]
fn an_unusable_port_stops_start_up() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    assert_refused(&[("BIND_ADDR", addr.as_str())], "cannot listen");
    let (ok, _, stderr) = run(&["--bind-addr", "not-an-address"], &[]);
    assert!(!ok && stderr.contains("bind-addr"), "{stderr}");
}

#[test]
fn a_malformed_cors_origin_stops_start_up() {
    assert_refused(&[("CORS_ALLOWED_ORIGINS", "https://ok.example.com,not an origin")], "CORS_ALLOWED_ORIGINS");
    assert_refused(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com/path")], "CORS_ALLOWED_ORIGINS");
}

#[test]
fn a_token_lifetime_beyond_the_bounds_is_refused() {
    let (ok, _, stderr) = run(&[], &[("ACCESS_TOKEN_TTL", "18446744073709551615")]);
    assert!(!ok && stderr.contains("access-token-ttl"), "{stderr}");
    let (ok, _, stderr) = run(&[], &[("REFRESH_TOKEN_TTL", "0")]);
    assert!(!ok && stderr.contains("refresh-token-ttl"), "{stderr}");
}

#[test]
fn a_pool_size_out_of_range_is_refused() {
    let (ok, _, stderr) = run(&[], &[("DATABASE_MAX_CONNECTIONS", "0")]);
    assert!(!ok && stderr.contains("database-max-connections"), "{stderr}");
}

#[test]
fn a_bcrypt_cost_out_of_range_is_refused() {
    let (ok, _, stderr) = run(&[], &[("BCRYPT_COST", "3")]);
    assert!(!ok && stderr.contains("bcrypt-cost"), "{stderr}");
}

#[test]
fn migrate_applies_migrations_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let (ok, _, stderr) = run(&["migrate"], &[("DATABASE_URL", url.as_str()), ("JWT_SECRET", "x".repeat(40).as_str())]);
    assert!(ok, "{stderr}");
    assert!(dir.path().join("m.db").exists());
}

#[tokio::test]
async fn without_a_secret_sqlite_generates_one_in_a_private_file_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, _) = test_config(&Backend::Sqlite, &dir);
    config.jwt_secret = None;
    let mut app = TestApp::start(config, dir, None).await;
    let secret_file = app.dir.path().join("test.db.jwt-secret");
    let meta = std::fs::metadata(&secret_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert!(meta.len() >= 32);
    let s = app.signup("alice@example.com").await;
    app.stop().await;

    // A restart on the same files reuses the secret: the token still works.
    let dir = std::mem::replace(&mut app.dir, tempfile::tempdir().unwrap());
    let again = TestApp::start(app.config.clone(), dir, None).await;
    let r = again.gql(Some(&s.access), "{ me { email } }", serde_json::json!({})).await;
    assert_eq!(r.ok()["me"]["email"], "alice@example.com");
}

const LIVE_SECRET: &str = "live-secret-live-secret-live-secret-0001";
const OLD_SECRET: &str = "old-secret-old-secret-old-secret-old-0002";
const DB_PASSWORD: &str = "db-password-hunter2";

#[test]
fn the_config_command_prints_every_setting_with_secrets_redacted() {
    let url = format!("postgres://todo:{DB_PASSWORD}@127.0.0.1:5432/test?sslpassword={DB_PASSWORD}");
    let (ok, stdout, stderr) = run(
        &["config", "--access-token-ttl", "60"],
        &[("JWT_SECRET", LIVE_SECRET), ("JWT_PREVIOUS_SECRETS", OLD_SECRET), ("DATABASE_URL", url.as_str())],
    );
    assert!(ok, "{stderr}");
    for secret in [LIVE_SECRET, OLD_SECRET, DB_PASSWORD] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "{secret} shown: {stdout}");
    }
    assert!(stdout.contains("JWT_SECRET=[redacted]  # environment"), "{stdout}");
    assert!(stdout.contains("JWT_PREVIOUS_SECRETS=[redacted]  # environment"), "{stdout}");
    assert!(
        stdout.contains("DATABASE_URL=postgres://todo:***@127.0.0.1:5432/test?sslpassword=***  # environment"),
        "{stdout}"
    );
    assert!(stdout.contains("ACCESS_TOKEN_TTL=60  # flag"), "{stdout}");
    assert!(stdout.contains("BCRYPT_COST=12  # default"), "{stdout}");
    assert!(stdout.contains("METRICS_ADDR=  # unset"), "{stdout}");
    // Every variable of CONTRACT §1 is listed.
    for name in [
        "DATABASE_URL",
        "BIND_ADDR",
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "REFRESH_TOKEN_TTL",
        "CORS_ALLOWED_ORIGINS",
        "GRAPHQL_INTROSPECTION",
        "GRAPHIQL",
        "WEB_APP",
        "GRAPHQL_MAX_ALIASES",
        "METRICS_ADDR",
        "RUST_LOG",
    ] {
        assert!(stdout.lines().any(|l| l.starts_with(&format!("{name}="))), "{name} missing: {stdout}");
    }
}

#[test]
fn the_parsed_configuration_never_formats_a_secret() {
    use clap::Parser as _;
    let url = format!("postgres://todo:{DB_PASSWORD}@db.internal/todo");
    let cli = todo_graphql::config::Cli::try_parse_from([
        "todo-graphql",
        "--jwt-secret",
        LIVE_SECRET,
        "--jwt-previous-secrets",
        OLD_SECRET,
        "--database-url",
        url.as_str(),
    ])
    .unwrap();
    let shown = format!("{:?} {:#?}", cli, cli.config);
    for secret in [LIVE_SECRET, OLD_SECRET, DB_PASSWORD] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("postgres://todo:***@db.internal/todo"), "{shown}");
    // The values are all there for the code that needs them.
    use secrecy::ExposeSecret as _;
    assert_eq!(cli.config.jwt_secret.as_ref().unwrap().expose_secret(), LIVE_SECRET);
    assert_eq!(cli.config.database_url.expose(), url);
}

#[test]
fn the_defaults_are_clap_s_and_enumerations_are_typed() {
    use clap::Parser as _;
    let defaults = todo_graphql::Config::default();
    assert_eq!(defaults.bind_addr.to_string(), "127.0.0.1:8000");
    assert_eq!(defaults.database_url.expose(), "sqlite://todo.db?mode=rwc");
    assert_eq!(defaults.access_token_ttl, 900);
    assert_eq!(defaults.graphql_max_aliases, 30);
    assert!(defaults.web_app && defaults.graphiql && defaults.metrics_addr.is_none());
    assert_eq!(defaults.log_format, todo_graphql::config::LogFormat::Text);
    assert_eq!(defaults.auth_external_algorithms.len(), 4);
    let json = todo_graphql::config::Cli::try_parse_from(["todo-graphql", "--log-format", "json"]).unwrap();
    assert_eq!(json.config.log_format, todo_graphql::config::LogFormat::Json);
    let refused = todo_graphql::config::Cli::try_parse_from(["todo-graphql", "--log-format", "xml"]).unwrap_err();
    assert!(refused.to_string().contains("possible values: text, json"), "{refused}");
    let hs = todo_graphql::config::Cli::try_parse_from(["todo-graphql", "--auth-external-algorithms", "ES256,HS256"])
        .unwrap_err();
    assert!(hs.to_string().contains("only asymmetric algorithms"), "{hs}");
}

#[test]
fn start_up_logs_and_errors_show_no_secret() {
    // A server that starts, at the most verbose level.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let mut server = crate::helpers::ServerProcess::start(
        dir.path(),
        &[
            ("DATABASE_URL", db.as_str()),
            ("JWT_SECRET", LIVE_SECRET),
            ("JWT_PREVIOUS_SECRETS", OLD_SECRET),
            ("RUST_LOG", "trace"),
            ("METRICS_ADDR", "127.0.0.1:0"),
        ],
    );
    server.signal("TERM");
    server.wait(10);
    let log = server.log_text();
    assert!(log.contains("metrics on http://127.0.0.1:"), "{log}");
    for secret in [LIVE_SECRET, OLD_SECRET] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    // A database that cannot be reached: the error names it without its password.
    let url = format!("postgres://todo:{DB_PASSWORD}@127.0.0.1:1/todo");
    let (ok, stdout, stderr) =
        run(&[], &[("DATABASE_URL", url.as_str()), ("JWT_SECRET", LIVE_SECRET), ("RUST_LOG", "trace")]);
    assert!(!ok);
    assert!(stderr.contains("cannot open the PostgreSQL database"), "{stderr}");
    for secret in [LIVE_SECRET, DB_PASSWORD] {
        assert!(!stderr.contains(secret) && !stdout.contains(secret), "{secret} in: {stderr}");
    }
}
