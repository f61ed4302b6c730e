//! Structure-aware fuzzing of CONTRACT §7 through the real server: random
//! GraphQL documents (nested selections, inline fragments, fragment graphs
//! with shared and cyclic spreads, deep values and types, aliases,
//! directives) and random JSON bodies, sent over POST and in batches. It
//! fails on a 5xx, an error without `extensions.code`, an internal error,
//! an answer slower than the budget, or a server that stops answering.
//! `FUZZ_CASES` sets the number of cases (`.ci/run` uses the default).

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

/// Longest an answer may take here (a debug build on a shared CI core);
/// the release build's times are in BENCHMARKS.md.
const BUDGET: Duration = Duration::from_secs(3);

const FIELDS: &[&str] = &["__typename", "me", "id", "email", "tasks", "edges", "node", "title", "totalCount", "nope"];

/// A value literal, nested up to `depth`.
fn value(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just("1".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("\"x\"".to_owned()),
        Just("$v".to_owned()),
        Just("CREATED_AT".to_owned()),
        Just("99999999999999999999".to_owned()),
    ];
    leaf.prop_recursive(depth, 256, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            proptest::collection::vec(("[a-z]{1,3}", inner), 0..3).prop_map(|v| format!(
                "{{{}}}",
                v.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
            )),
        ]
    })
    .boxed()
}

/// A selection set of fields, inline fragments and spreads of `F0..F5`.
fn selection(depth: u32) -> BoxedStrategy<String> {
    let field = (
        proptest::option::of("[a-z]{1,2}"),
        proptest::sample::select(FIELDS),
        proptest::option::of(("(first|filter|id|x)", value(3))),
        proptest::option::of(prop_oneof![Just("@include(if: true)"), Just("@skip(if: $b)"), Just("@nope")]),
    )
        .prop_map(|(alias, name, arg, dir)| {
            let alias = alias.map(|a| format!("{a}: ")).unwrap_or_default();
            let arg = arg.map(|(n, v)| format!("({n}: {v})")).unwrap_or_default();
            format!("{alias}{name}{arg} {}", dir.unwrap_or(""))
        });
    let spread = (0..6u8, proptest::option::of(Just("@include(if: $b)")))
        .prop_map(|(i, d)| format!("...F{i} {}", d.unwrap_or("")));
    let leaf = prop_oneof![4 => field, 2 => spread].boxed();
    leaf.prop_recursive(depth, 512, 6, |inner| {
        let set = proptest::collection::vec(inner, 1..6).prop_map(|v| format!("{{ {} }}", v.join(" ")));
        prop_oneof![
            (proptest::sample::select(FIELDS), set.clone()).prop_map(|(f, s)| format!("{f} {s}")),
            (proptest::sample::select(&["Query", "User", "Task", "TaskConnection"][..]), set)
                .prop_map(|(t, s)| format!("... on {t} {s}")),
        ]
    })
    .boxed()
}

/// A whole document: an operation, up to six fragments that may spread one
/// another (cycles included), sometimes a deep value or type past the bound.
fn document() -> impl Strategy<Value = String> {
    let fragments = proptest::collection::vec(
        (
            proptest::sample::select(&["Query", "User", "Task", "TaskConnection", "Mutation"][..]),
            proptest::collection::vec(selection(3), 1..4),
        ),
        0..7,
    );
    let op = prop_oneof![
        Just("query"),
        Just("mutation"),
        Just("subscription"),
        Just("query Q($v: Int, $b: Boolean = true)")
    ];
    let deep = prop_oneof![
        6 => Just(String::new()),
        1 => (40usize..200).prop_map(|n| format!(" extra: __typename @skip(if: {}false{})", "[".repeat(n), "]".repeat(n))),
        1 => (40usize..200).prop_map(|n| format!(" {}__typename{}", "... on Query { ".repeat(n), " }".repeat(n))),
    ];
    (op, proptest::collection::vec(selection(4), 1..6), fragments, deep).prop_map(|(op, sel, frags, deep)| {
        let mut q = format!("{op} {{ {}{deep} }}", sel.join(" "));
        for (i, (on, body)) in frags.iter().enumerate() {
            q.push_str(&format!(" fragment F{i} on {on} {{ {} }}", body.join(" ")));
        }
        q
    })
}

/// A JSON body around a document: single, batch, odd shapes, deep variables.
fn body() -> impl Strategy<Value = String> {
    let vars = prop_oneof![
        Just(json!({})),
        Just(json!({ "v": 1, "b": false })),
        (1usize..150).prop_map(|n| serde_json::from_str::<Value>(&format!(
            "{{\"v\": {}1{}}}",
            "[".repeat(n),
            "]".repeat(n)
        ))
        .unwrap_or(Value::Null)),
    ];
    (document(), vars, 0..4u8).prop_map(|(q, vars, shape)| {
        let one = json!({ "query": q, "variables": vars });
        match shape {
            0 | 1 => one.to_string(),
            2 => json!([one, { "query": "{ __typename }" }]).to_string(),
            _ => json!({ "query": q, "operationName": "Q", "extensions": vars }).to_string(),
        }
    })
}

async fn check(app: &TestApp, token: &str, body: String) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let r = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .map_err(|e| TestCaseError::fail(format!("no answer ({e}) to {body}")))?;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let took = started.elapsed();
    prop_assert!(status < 500, "{status} for {body}: {text}");
    prop_assert!(took < BUDGET, "{took:?} for {body}");
    let answer: Value = serde_json::from_str(&text).map_err(|_| TestCaseError::fail(format!("not JSON: {text}")))?;
    for item in answer.as_array().cloned().unwrap_or_else(|| vec![answer.clone()]) {
        for e in item["errors"].as_array().into_iter().flatten() {
            let code = e["extensions"]["code"].as_str();
            prop_assert!(code.is_some(), "an error without a code: {e} for {body}");
            prop_assert!(code != Some("INTERNAL_SERVER_ERROR"), "{e} for {body}");
        }
        prop_assert!(item["errors"].as_array().map_or(0, Vec::len) <= 100);
    }
    let alive = app.gql(Some(token), "{ __typename }", json!({})).await;
    prop_assert_eq!(alive.status, 200, "the server stopped answering after {}", body);
    Ok(())
}

#[test]
fn random_documents_and_bodies_never_crash_stall_or_fail_internally() {
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (app, s) = rt.block_on(async {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.login_ip_max_attempts = 100_000).await;
        let s = app.signup("fuzz@example.com").await;
        (app, s)
    });
    let mut runner = TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() });
    let result = runner.run(&body(), |b| rt.block_on(check(&app, &s.access, b)));
    rt.block_on(async { drop(app) });
    if let Err(e) = result {
        panic!("{e}");
    }
}
