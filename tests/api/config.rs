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
