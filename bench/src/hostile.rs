//! CONTRACT §7's hostile documents, one at a time against a fresh server:
//! per case the bytes sent, the answer time, the peak resident growth and
//! what came back, beside a plain `{ __typename }`. A case that kills or
//! stalls the server is reported as such and the server restarted.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::server::Server;

/// Longest a case may take before it is called a stall.
const PATIENCE: Duration = Duration::from_secs(10);

fn nest(open: &str, inner: &str, close: &str, levels: usize) -> String {
    format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
}

fn dag(levels: usize, leaf: &str) -> String {
    let mut q = format!("query Q {{ ...F{levels} }} fragment F0 on Query {{ {leaf} }}");
    for i in 1..=levels {
        q.push_str(&format!(" fragment F{i} on Query {{ ...F{} ...F{} }}", i - 1, i - 1));
    }
    q
}

/// The cases: a name and the JSON body sent.
pub fn cases() -> Vec<(&'static str, Value)> {
    let q = |query: String| json!({ "query": query });
    vec![
        ("{ __typename } (baseline)", q("{ __typename }".into())),
        ("list value, 2,000 levels", q(format!("{{ tasks(first: 1, filter: {}) {{ totalCount }} }}", nest("[", "1", "]", 2000)))),
        ("object value, 2,000 levels", q(format!("{{ tasks(first: 1, filter: {}) {{ totalCount }} }}", nest("{a: ", "1", "}", 2000)))),
        ("list in @skip(if:), 2,000 levels", q(format!("{{ __typename @skip(if: {}) }}", nest("[", "true", "]", 2000)))),
        ("variable default, 2,000 levels", q(format!("query($v: [Int] = {}) {{ __typename }}", nest("[", "1", "]", 2000)))),
        ("variable list type, 2,000 levels", q(format!("query($v: {}) {{ __typename }}", nest("[", "Int", "]", 2000)))),
        ("selection sets, 2,000 levels", q(nest("{ me ", "{ id }", " }", 2000))),
        ("inline fragments, 2,000 levels", q(nest("{ ... on Query ", "{ __typename }", " }", 2000))),
        ("JSON variables, 100 levels", json!({ "query": "{ __typename }", "variables": { "v": serde_json::from_str::<Value>(&nest("[", "1", "]", 100)).unwrap_or_default() } })),
        ("fragment DAG, 22 levels, __typename", q(dag(22, "__typename"))),
        ("fragment DAG, 26 levels, __typename", q(dag(26, "__typename"))),
        ("fragment DAG, 22 levels, me { id }", q(dag(22, "me { id }"))),
        ("cyclic fragments", q("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }".into())),
        ("5,000 x __typename", q(format!("{{ {} }}", "__typename ".repeat(5000)))),
        ("4,000 unknown fields", q(format!("{{ {} }}", "unknownField ".repeat(4000)))),
        ("3,000 directives", q(format!("{{ __typename {} }}", "@include(if: true) ".repeat(3000)))),
        ("2,000 operations", q((0..2000).map(|i| format!("query Q{i} {{ __typename }}")).collect::<Vec<_>>().join(" "))),
        ("50 login aliases", q(format!("mutation {{ {} }}", (0..50).map(|i| format!("l{i}: login(input: {{email: \"x@example.com\", password: \"wrong password\"}}) {{ tokenType }}")).collect::<Vec<_>>().join(" ")))),
        ("search of 60,000 characters", q(format!("{{ tasks(first: 1, filter: {{search: \"{}\"}}) {{ totalCount }} }}", "a".repeat(60_000)))),
    ]
}

/// Peak resident set of a process so far, in KiB.
fn hwm_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

async fn token(server: &Server) -> anyhow::Result<String> {
    let gql = format!("{}/graphql", server.base);
    crate::http::signup(&reqwest::Client::new(), &gql, &format!("hostile-{}@example.com", crate::http::unique_tag()))
        .await
}

/// Runs every case and reports each.
pub async fn run(
    start: impl Fn() -> futures_util::future::BoxFuture<'static, anyhow::Result<Server>>,
) -> anyhow::Result<Value> {
    let client = reqwest::Client::builder().timeout(PATIENCE).build()?;
    let mut server = start().await?;
    let mut bearer = token(&server).await?;
    let mut rows = Vec::new();
    for (name, body) in cases() {
        let bytes = body.to_string().len();
        let before = hwm_kib(server.pid);
        let started = Instant::now();
        let sent = client.post(format!("{}/graphql", server.base)).bearer_auth(&bearer).json(&body).send().await;
        let answer = match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.json::<Value>().await {
                    Ok(v) => {
                        let code = v["errors"][0]["extensions"]["code"].as_str().map(str::to_owned);
                        format!("{status} {}", code.unwrap_or_else(|| "data".into()))
                    }
                    Err(e) if e.is_timeout() => "stalled".into(),
                    Err(_) => format!("{status} (no JSON)"),
                }
            }
            Err(e) if e.is_timeout() => format!("stalled > {} s", PATIENCE.as_secs()),
            Err(_) => "connection lost: server crashed".into(),
        };
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let growth = match (before, hwm_kib(server.pid)) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b)),
            _ => None,
        };
        let alive = client.get(format!("{}/healthz", server.base)).send().await.is_ok_and(|r| r.status().is_success());
        rows.push(json!({ "case": name, "bytes": bytes, "answer_ms": (ms * 10.0).round() / 10.0,
            "peak_rss_growth_kib": growth, "answer": answer, "alive_after": alive }));
        if !alive || answer.starts_with("stalled") {
            drop(server);
            server = start().await?;
            bearer = token(&server).await?;
        }
    }
    Ok(json!({ "scenario": "hostile", "cases": rows }))
}
