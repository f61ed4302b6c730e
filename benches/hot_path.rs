//! Micro-benchmarks of the request hot path, without HTTP:
//! `cargo bench --bench hot_path` (numbers in BENCHMARKS.md).
//!
//! - token verification (the check every authenticated request pays);
//! - one `tasks(first: 20)` page executed through the schema against a
//!   seeded SQLite file, and `{ __typename }` for the framework's fixed cost;
//! - password hashing and verification at `BCRYPT_COST` (default 12).
//!
//! Under `cargo test` (no `--bench`) each runs once as a smoke test, with
//! bcrypt at cost 4 so the debug build stays quick.

use std::sync::Arc;

use async_graphql::Request;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::Value;
use todo_graphql::auth::password::Passwords;
use todo_graphql::auth::{Caller, Keys};
use todo_graphql::graphql::AppSchema;
use todo_graphql::service::tasks::{PageArgs, TaskFilter, TaskOrder, Tasks};
use todo_graphql::{build_schema, db, Config};

const TASKS: &str = "{ tasks(first: 20) { edges { node { id title completed updatedAt } } pageInfo { endCursor hasNextPage } totalCount } }";

fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn keys() -> Keys {
    Keys::new(b"bench-secret-bench-secret-bench-secret-0000", "todo-graphql", "todo-graphql", 900, 1_209_600)
}

fn tokens(c: &mut Criterion) {
    let keys = keys();
    let token = keys.issue(uuid::Uuid::now_v7(), "bench@example.com", 0).map(|t| t.access_token);
    let token = token.unwrap_or_default();
    assert!(keys.verify_access(&token).is_ok());
    c.bench_function("verify_access_token", |b| b.iter(|| keys.verify_access(std::hint::black_box(&token))));
}

/// A schema over a fresh SQLite file holding one user with 100 tasks, and
/// that user as the caller.
async fn seeded(dir: &std::path::Path) -> (AppSchema, Caller, Tasks) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let conn = db::connect(&url, None).await.unwrap_or_else(|e| panic!("connect: {e}"));
    db::migrate(&conn).await.unwrap_or_else(|e| panic!("migrate: {e}"));
    let config = Config { bcrypt_cost: 4, ..Config::default() };
    let keys = Arc::new(keys());
    let tasks = Tasks::new(conn.clone());
    let schema = build_schema(conn, keys.clone(), &config).unwrap_or_else(|e| panic!("schema: {e}"));
    let signup =
        "mutation { signup(input: {email: \"bench@example.com\", password: \"bench password\"}) { accessToken } }";
    let r = schema.execute(signup).await.data.into_json().unwrap_or(Value::Null);
    let token = r["signup"]["accessToken"].as_str().unwrap_or_default().to_owned();
    let caller = Caller::User(keys.verify_access(&token).unwrap_or_else(|e| panic!("token: {e}")));
    for batch in 0..10 {
        let doc = (0..10).map(|k| format!("t{k}: createTask(input: {{title: \"task {batch}-{k}\"}}) {{ id }}"));
        let doc = format!("mutation {{ {} }}", doc.collect::<Vec<_>>().join(" "));
        let r = schema.execute(Request::new(doc).data(caller.clone())).await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    (schema, caller, tasks)
}

fn schema(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("runtime: {e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (schema, caller, tasks) = rt.block_on(seeded(dir.path()));
    let (rt, schema, caller) = (&rt, &schema, &caller);
    let run = |query: &'static str| {
        move || {
            let r = rt.block_on(schema.execute(Request::new(query).data(caller.clone())));
            assert!(r.errors.is_empty(), "{:?}", r.errors);
            r
        }
    };
    let page = run(TASKS)();
    assert_eq!(page.data.into_json().unwrap_or(Value::Null)["tasks"]["totalCount"], 100);
    c.bench_function("schema_typename", |b| b.iter(run("{ __typename }")));
    c.bench_function("schema_tasks_page_20", |b| b.iter(run(TASKS)));
    // The database's share: the same page and count straight from the service.
    let Caller::User(me) = caller else { panic!("no user") };
    let (filter, args) = (TaskFilter::default(), PageArgs { first: Some(20), ..PageArgs::default() });
    c.bench_function("service_tasks_page_20", |b| {
        b.iter(|| rt.block_on(tasks.page(me.user_id, &filter, TaskOrder::default(), &args, true)))
    });
    c.bench_function("schema_tasks_page_20_to_json", |b| {
        let execute = run(TASKS);
        b.iter(|| serde_json::to_vec(&execute()).map(|v| v.len()))
    });
}

fn passwords(c: &mut Criterion) {
    let cost =
        if benching() { std::env::var("BCRYPT_COST").ok().and_then(|c| c.parse().ok()).unwrap_or(12) } else { 4 };
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("runtime: {e}"));
    let passwords =
        Passwords::new(cost, todo_graphql::telemetry::Metrics::off()).unwrap_or_else(|e| panic!("passwords: {e}"));
    let hash = rt.block_on(passwords.hash("bench password".into())).unwrap_or_else(|e| panic!("hash: {e}"));
    let mut group = c.benchmark_group(format!("bcrypt_cost_{cost}"));
    group.sample_size(10);
    group.bench_function("hash", |b| b.iter(|| rt.block_on(passwords.hash("bench password".into()))));
    group.bench_function("verify", |b| {
        b.iter(|| rt.block_on(passwords.verify("bench password".into(), Some(hash.clone()))))
    });
    group.finish();
}

criterion_group!(benches, tokens, schema, passwords);
criterion_main!(benches);
