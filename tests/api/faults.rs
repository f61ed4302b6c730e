//! Faults of CONTRACT §7: concurrent writers, a crash right after a
//! mutation, the database going away and coming back, and shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::both_backends;
use crate::helpers::{post_gql, ServerProcess, TestApp};

both_backends! {
    async fn fifty_concurrent_writers_of_one_user_all_succeed(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let writes = (0..50).map(|i| app.gql(Some(&s.access),
            "mutation($t: String!) { createTask(input: {title: $t}) { id } }", json!({ "t": format!("task {i}") })));
        for r in futures::future::join_all(writes).await {
            r.ok();
        }
        let r = app.gql(Some(&s.access), "{ tasks { totalCount } }", json!({})).await;
        assert_eq!(r.ok()["tasks"]["totalCount"], 50);
    }
}

#[tokio::test]
async fn a_mutation_that_returned_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("crash.db").display());
    let env = [("DATABASE_URL", url.as_str())];
    let client = reqwest::Client::new();
    let server = ServerProcess::start(dir.path(), &env);
    let gql = server.url("/graphql");
    let r = post_gql(&client, &gql, None, "mutation { signup(input: {email: \"crash@example.com\", password: \"correct horse battery\"}) { accessToken } }", json!({})).await;
    let token = r.ok()["signup"]["accessToken"].as_str().unwrap().to_owned();
    let r = post_gql(
        &client,
        &gql,
        Some(&token),
        "mutation { createTask(input: {title: \"survives\"}) { id } }",
        json!({}),
    )
    .await;
    let id = r.ok()["createTask"]["id"].clone();
    server.signal("KILL");
    drop(server);

    let again = ServerProcess::start(dir.path(), &env);
    let r =
        post_gql(&client, &again.url("/graphql"), Some(&token), "{ tasks { nodes { id title } } }", json!({})).await;
    assert_eq!(r.ok()["tasks"]["nodes"], json!([{ "id": id, "title": "survives" }]));
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_then_exits_0() {
    drains_on("TERM").await;
}

#[tokio::test]
async fn ctrl_c_lets_an_in_flight_request_finish_then_exits_0() {
    drains_on("INT").await;
}

async fn drains_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    // A slow request: bcrypt at a high cost.
    let mut server = ServerProcess::start(dir.path(), &[("BCRYPT_COST", "11")]);
    let client = reqwest::Client::new();
    let gql = server.url("/graphql");
    let slow = tokio::spawn(async move {
        post_gql(&client, &gql, None, "mutation { signup(input: {email: \"slow@example.com\", password: \"correct horse battery\"}) { user { email } } }", json!({})).await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.signal(signal);
    let r = slow.await.unwrap();
    assert_eq!(r.ok()["signup"]["user"]["email"], "slow@example.com");
    let status = server.wait(20);
    assert!(status.success(), "exit status {status:?}: {}", server.log_text());
}

/// A TCP proxy in front of PostgreSQL that can cut every connection and
/// refuse new ones, as a database outage looks to the server.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (d, c) = (down.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused in effect
                }
                let upstream = upstream.clone();
                c.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                }));
            }
        });
        Self { port, down, conns }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// A server on the PostgreSQL test database reached through a [`Proxy`]
/// (the harness itself connects directly); `None` when PostgreSQL is not set.
async fn behind_proxy(test: &str) -> Option<(Proxy, TestApp)> {
    let Some(crate::helpers::Backend::Postgres(url)) = crate::helpers::Backend::postgres(test) else {
        return None;
    };
    let at = url.find('@').map_or("postgres://".len(), |i| i + 1);
    let end = url[at..].find('/').map_or(url.len(), |i| at + i);
    let upstream = url[at..end].to_owned();
    let proxy = Proxy::start(upstream.clone()).await;
    let port = proxy.port;
    let app = TestApp::spawn_with(crate::helpers::Backend::Postgres(url), |c| {
        c.database_url = c.database_url.expose().replacen(&upstream, &format!("127.0.0.1:{port}"), 1).into();
    })
    .await;
    Some((proxy, app))
}

#[tokio::test]
async fn with_the_database_down_requests_fail_fast_and_recover_without_restart() {
    let Some((proxy, app)) = behind_proxy("faults::database_down").await else { return };
    let s = app.signup("alice@example.com").await;
    app.create_task(&s.access, "before the outage").await;

    proxy.cut();
    for _ in 0..2 {
        let t = Instant::now();
        let r = app.gql(Some(&s.access), "{ tasks { totalCount } }", json!({})).await;
        r.assert_code("INTERNAL_SERVER_ERROR");
        assert_eq!(r.message(), Some("Internal server error"));
        assert!(t.elapsed() < Duration::from_secs(2), "a request took {:?} to fail", t.elapsed());
    }
    let t = Instant::now();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(t.elapsed() < Duration::from_secs(3), "readyz took {:?}", t.elapsed());
    // Health is about the process, not the database.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = app.gql(Some(&s.access), "{ tasks { totalCount } }", json!({})).await;
        if r.code().is_none() {
            assert_eq!(r.ok()["tasks"]["totalCount"], 1);
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_event_listener_reconnects_after_the_database_returns() {
    let Some((proxy, app)) = behind_proxy("faults::listener_reconnects").await else { return };
    let s = app.signup("alice@example.com").await;
    let mut ws = crate::ws::Ws::connect(&app, Some(&s.access)).await;
    ws.task_events("1").await;
    ws.settle().await;

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.restore();
    // Once requests work again and the listener is back, events flow again.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = app.gql(Some(&s.access), "mutation { createTask(input: {title: \"after\"}) { id } }", json!({})).await;
        if let Some(id) = r.data()["createTask"]["id"].as_str() {
            if let crate::ws::Frame::Json(v) = ws.within(Duration::from_secs(2)).await {
                assert_eq!(v["payload"]["data"]["taskEvents"]["taskId"], id, "{v}");
                break;
            }
        }
        assert!(Instant::now() < deadline, "no event after the database came back");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// bcrypt runs on threads named `bcrypt` under Linux's `SCHED_IDLE` policy
/// (5), so a login storm only takes CPU that task queries leave.
#[test]
fn password_hashing_threads_run_at_idle_priority() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let tasks = std::path::PathBuf::from(format!("/proc/{}/task", server.child.id()));
    let policies: Vec<String> = std::fs::read_dir(&tasks)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "bcrypt"))
        .filter_map(|t| std::fs::read_to_string(t.path().join("sched")).ok())
        .filter_map(|s| {
            s.lines().find(|l| l.starts_with("policy")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .collect();
    assert!(!policies.is_empty(), "no bcrypt thread: {}", server.log_text());
    assert!(policies.iter().all(|p| p == "5"), "policies {policies:?}");
    // The other threads keep the normal policy (0).
    let main = std::fs::read_to_string(tasks.join(server.child.id().to_string()).join("sched")).unwrap();
    assert!(main.lines().any(|l| l.starts_with("policy") && l.trim_end().ends_with(" 0")), "{main}");
}
