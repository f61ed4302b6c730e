//! CONTRACT §12 metrics: `GET /metrics` on `METRICS_ADDR` only, every named
//! metric with its labels, counted where things happen, bounded labels
//! that never hold a secret; read back by a real Prometheus and `promtool`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::ws::Ws;

async fn scrape(app: &TestApp) -> String {
    let addr = app.metrics_addr.expect("metrics are on");
    let r = app.client.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    r.text().await.unwrap()
}

/// `name{labels}` → value, for the samples of the exposition.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(k, v)| (k.to_owned(), v.parse().unwrap())))
        .collect()
}

#[track_caller]
fn value(samples: &HashMap<String, f64>, key: &str) -> f64 {
    *samples.get(key).unwrap_or_else(|| {
        let mut keys: Vec<_> = samples.keys().collect();
        keys.sort();
        panic!("no sample {key}; have {keys:#?}")
    })
}

async fn metrics_app(b: Backend) -> TestApp {
    TestApp::spawn_with(b, |c| {
        c.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
        c.login_email_max_failures = 2;
    })
    .await
}

crate::both_backends! {
    async fn every_metric_of_the_contract_counts_known_traffic_without_a_secret_in_a_label(b: Backend) {
        let app = metrics_app(b).await;
        let email = "metrics.person@example.com";
        let s = app.signup(email).await;
        let title = "Secret plan for the surprise party";
        let id = app.create_task(&s.access, title).await;

        // A subscriber sees one event of the next change.
        let mut ws = Ws::connect(&app, Some(&s.access)).await;
        ws.task_events("1").await;
        ws.settle().await;
        let mid = samples(&scrape(&app).await);
        assert_eq!(value(&mid, "ws_connections"), 1.0);
        assert_eq!(value(&mid, "ws_subscriptions"), 1.0);
        let q = "mutation Rename($id: ID!, $t: String!) { updateTask(id: $id, input: { title: $t }) { id } }";
        app.gql(Some(&s.access), q, json!({ "id": id, "t": "Renamed secret" })).await.ok();
        let event = ws.event("1").await;
        assert_eq!(event["data"]["taskEvents"]["kind"], "UPDATED");
        drop(ws);

        // Named queries, errors of known codes, auth failures, a rate limit.
        for _ in 0..3 {
            app.gql(Some(&s.access), "query MyTasks { tasks(first: 5) { edges { node { id } } } }", json!({})).await.ok();
        }
        app.gql(None, "{ me { id } }", json!({})).await.assert_code("UNAUTHENTICATED");
        app.gql(Some(&s.access), "{ task(id: \"00000000-0000-4000-8000-000000000000\") { id } }", json!({}))
            .await
            .assert_code("NOT_FOUND");
        let bad = app.gql_with_auth("Bearer not-a-token", "{ __typename }").await;
        assert_eq!(bad.status, 401);
        let login = "mutation { login(input: { email: $e, password: $p }) { accessToken } }"
            .replace("$e", &format!("{email:?}"))
            .replace("$p", "\"wrong password!\"");
        app.gql(None, &login, json!({})).await.assert_code("UNAUTHENTICATED");
        app.gql(None, &login, json!({})).await.assert_code("UNAUTHENTICATED");
        app.gql(None, &login, json!({})).await.assert_code("TOO_MANY_REQUESTS");
        let token = app
            .gql(
                Some(&s.access),
                "mutation { createApiToken(input: { name: \"ci\", scopes: [TASKS_READ] }) { token } }",
                json!({}),
            )
            .await;
        let api_token = token.ok()["createApiToken"]["token"].as_str().unwrap().to_owned();
        app.gql(Some(&api_token), "{ tasks(first: 1) { edges { node { id } } } }", json!({})).await.ok();
        let unknown = format!("tgq_{}", "A".repeat(43));
        assert_eq!(app.gql(Some(&unknown), "{ __typename }", json!({})).await.status, 401);
        let page = app.client.get(app.url("/no-such-page")).send().await.unwrap();
        assert_eq!(page.status(), 404);

        // The settle above let the socket close; its gauge is back to 0.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let text = scrape(&app).await;
        let m = samples(&text);
        let post = "http_server_requests_total{method=\"POST\",route=\"/graphql\",status=\"200\"}";
        assert!(value(&m, post) >= 8.0, "{text}");
        assert_eq!(value(&m, "http_server_requests_total{method=\"POST\",route=\"/graphql\",status=\"401\"}"), 5.0);
        assert_eq!(value(&m, "http_server_requests_total{method=\"POST\",route=\"/graphql\",status=\"429\"}"), 1.0);
        assert_eq!(value(&m, "http_server_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"), 1.0);
        assert!(value(&m, "http_server_request_duration_seconds_count{method=\"POST\",route=\"/graphql\",status=\"200\"}") >= 8.0);
        assert!(text.contains("http_server_request_duration_seconds_bucket{le=\"0.005\",method=\"POST\",route=\"/graphql\",status=\"200\"}")
            || text.contains("http_server_request_duration_seconds_bucket{method=\"POST\",route=\"/graphql\",status=\"200\",le=\"0.005\"}"), "{text}");
        assert_eq!(value(&m, "graphql_operations_total{operation_type=\"query\",operation_name=\"MyTasks\"}"), 3.0);
        assert_eq!(value(&m, "graphql_operations_total{operation_type=\"mutation\",operation_name=\"Rename\"}"), 1.0);
        assert_eq!(value(&m, "graphql_operations_total{operation_type=\"subscription\",operation_name=\"anonymous\"}"), 1.0);
        assert_eq!(value(&m, "graphql_errors_total{code=\"NOT_FOUND\"}"), 1.0);
        assert_eq!(value(&m, "graphql_errors_total{code=\"TOO_MANY_REQUESTS\"}"), 1.0);
        assert_eq!(value(&m, "graphql_errors_total{code=\"UNAUTHENTICATED\"}"), 3.0);
        assert_eq!(value(&m, "auth_failures_total{reason=\"no_token\"}"), 1.0);
        assert_eq!(value(&m, "auth_failures_total{reason=\"malformed\"}"), 1.0);
        assert_eq!(value(&m, "auth_failures_total{reason=\"bad_credentials\"}"), 2.0);
        assert_eq!(value(&m, "auth_failures_total{reason=\"unknown_api_token\"}"), 1.0);
        assert_eq!(value(&m, "rate_limited_total{limit=\"login_email\"}"), 1.0);
        assert_eq!(value(&m, "api_token_verifications_total{result=\"valid\"}"), 1.0);
        assert_eq!(value(&m, "api_token_verifications_total{result=\"unknown\"}"), 1.0);
        assert_eq!(value(&m, "ws_connections"), 0.0);
        assert_eq!(value(&m, "ws_subscriptions"), 0.0);
        assert_eq!(value(&m, "task_events_published_total"), 2.0);
        assert_eq!(value(&m, "task_events_delivered_total"), 1.0);
        assert_eq!(value(&m, "task_events_dropped_total"), 0.0);
        // signup hashes; the two failed logins verify; the third is refused before bcrypt.
        assert_eq!(value(&m, "password_hash_duration_seconds_count"), 3.0);
        assert_eq!(value(&m, "password_hash_queue"), 0.0);
        assert!(value(&m, "db_pool_connections{state=\"idle\"}") >= 1.0);
        assert!(m.contains_key("db_pool_connections{state=\"in_use\"}"));
        assert!(value(&m, "process_resident_memory_bytes") > 0.0);
        assert!(m.contains_key("process_cpu_seconds_total"));

        // No label holds a token, an email, an id or task text.
        for secret in [s.access.as_str(), s.refresh.as_str(), api_token.as_str(), email, "metrics.person", &id, title,
                       "Secret plan", "Renamed secret", &s.user_id, PASSWORD, "wrong password"] {
            assert!(!text.contains(secret), "the metrics show {secret:?}");
        }

        // Never on the API's port.
        assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), 404);
        promtool_check(&text);
    }

    async fn operation_names_are_capped_at_200_distinct_values(b: Backend) {
        let app = metrics_app(b).await;
        for i in 0..205 {
            app.gql(None, &format!("query Op{i} {{ __typename }}"), json!({})).await.ok();
        }
        let long = format!("query {} {{ __typename }}", "L".repeat(150));
        app.gql(None, &long, json!({})).await.ok();
        let text = scrape(&app).await;
        let m = samples(&text);
        let names = m.keys().filter(|k| k.starts_with("graphql_operations_total{")).count();
        assert_eq!(names, 201, "200 names and `other`");
        assert_eq!(value(&m, "graphql_operations_total{operation_type=\"query\",operation_name=\"Op0\"}"), 1.0);
        assert_eq!(value(&m, "graphql_operations_total{operation_type=\"query\",operation_name=\"other\"}"), 6.0);
    }
}

#[tokio::test]
async fn without_metrics_addr_nothing_listens_and_nothing_is_served() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert!(app.metrics_addr.is_none());
    assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), 404);
}

/// `promtool check metrics` on an exposition: it must parse, and pass the
/// linter (names, units, `_total`, help text).
fn promtool_check(text: &str) {
    use std::io::Write as _;
    let Some(promtool) = which("promtool") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (promtool not installed: apt-get install prometheus): promtool check metrics"
        );
        return;
    };
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}");
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| std::path::Path::new(d).join(name)).find(|p| p.is_file())
}

/// A real Prometheus scrapes the server and answers for its counters.
#[tokio::test]
async fn a_real_prometheus_scrapes_the_server() {
    use std::io::Write as _;
    let Some(prometheus) = which("prometheus") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (prometheus not installed: apt-get install prometheus): a_real_prometheus_scrapes_the_server"
        );
        return;
    };
    let app = metrics_app(Backend::Sqlite).await;
    let s = app.signup("scraped@example.com").await;
    for _ in 0..4 {
        app.gql(Some(&s.access), "query Scraped { me { email } }", json!({})).await.ok();
    }
    let dir = tempfile::tempdir().unwrap();
    let target = app.metrics_addr.unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: todo-graphql\n    static_configs:\n      - targets: ['{target}']\n"),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(prometheus)
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = Kill(std::mem::replace(&mut child, std::process::Command::new("true").spawn().unwrap()));
    let query = |q: &str| {
        let url = format!("http://127.0.0.1:{port}/api/v1/query");
        let client = app.client.clone();
        let q = q.to_owned();
        async move {
            let r = client.get(url).query(&[("query", q)]).send().await.ok()?;
            let body: Value = r.json().await.ok()?;
            body["data"]["result"].as_array().cloned()
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let result = loop {
        let found = query("graphql_operations_total{operation_name=\"Scraped\"}").await.unwrap_or_default();
        if let Some(sample) = found.first() {
            break sample.clone();
        }
        assert!(std::time::Instant::now() < deadline, "Prometheus never scraped the counter");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(result["metric"]["job"], "todo-graphql");
    assert_eq!(result["metric"]["operation_type"], "query");
    assert_eq!(result["value"][1], "4");
    let up = query("up{job=\"todo-graphql\"}").await.unwrap();
    assert_eq!(up[0]["value"][1], "1");
    let requests = query("sum(http_server_requests_total{route=\"/graphql\"})").await.unwrap();
    assert_eq!(requests[0]["value"][1], "5");
}
