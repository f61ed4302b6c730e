//! Property tests through the real server: random interleavings of task
//! operations by several users never let one user see or change another's
//! task, and no single-byte change to a valid token is accepted.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use serde_json::json;

use crate::helpers::{Backend, Session, TestApp};

#[derive(Debug, Clone)]
enum Op {
    Create { user: usize },
    Rename { user: usize, target: usize },
    Complete { user: usize, target: usize },
    Delete { user: usize, target: usize },
    Read { user: usize, target: usize },
    List { user: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let u = 0..3usize;
    let t = 0..16usize;
    prop_oneof![
        3 => u.clone().prop_map(|user| Op::Create { user }),
        2 => (u.clone(), t.clone()).prop_map(|(user, target)| Op::Rename { user, target }),
        2 => (u.clone(), t.clone()).prop_map(|(user, target)| Op::Complete { user, target }),
        1 => (u.clone(), t.clone()).prop_map(|(user, target)| Op::Delete { user, target }),
        2 => (u.clone(), t).prop_map(|(user, target)| Op::Read { user, target }),
        1 => u.prop_map(|user| Op::List { user }),
    ]
}

/// What the model believes about one task.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    owner: usize,
    title: String,
    completed: bool,
}

/// Runs one case with three fresh users, so cases share nothing.
async fn run_ops(app: &TestApp, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut users: Vec<Session> = Vec::new();
    for _ in 0..3 {
        users.push(app.signup(&format!("{}@example.com", uuid::Uuid::new_v4().simple())).await);
    }
    let mut ids: Vec<String> = Vec::new();
    let mut model: BTreeMap<String, Model> = BTreeMap::new();
    let pick = |ids: &Vec<String>, target: usize| ids.get(target % ids.len().max(1)).cloned();
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Create { user } => {
                let title = format!("t{step}");
                let id = app.create_task(&users[*user].access, &title).await;
                ids.push(id.clone());
                model.insert(id, Model { owner: *user, title, completed: false });
            }
            Op::Rename { user, target }
            | Op::Complete { user, target }
            | Op::Delete { user, target }
            | Op::Read { user, target } => {
                let Some(id) = pick(&ids, *target) else { continue };
                let (doc, vars) = match op {
                    Op::Rename { .. } => ("mutation($id: ID!, $t: String!) { r: updateTask(id: $id, input: {title: $t}) { title completed } }", json!({ "id": id, "t": format!("r{step}") })),
                    Op::Complete { .. } => ("mutation($id: ID!) { r: setTaskCompleted(id: $id, completed: true) { title completed } }", json!({ "id": id })),
                    Op::Delete { .. } => ("mutation($id: ID!) { r: deleteTask(id: $id) }", json!({ "id": id })),
                    _ => ("query($id: ID!) { r: task(id: $id) { title completed } }", json!({ "id": id })),
                };
                let r = app.gql(Some(&users[*user].access), doc, vars).await;
                match model.get_mut(&id) {
                    Some(m) if m.owner == *user => {
                        prop_assert!(r.code().is_none(), "owner's {op:?} failed: {}", r.body);
                        match op {
                            Op::Rename { .. } => m.title = format!("r{step}"),
                            Op::Complete { .. } => m.completed = true,
                            Op::Delete { .. } => {
                                model.remove(&id);
                                continue;
                            }
                            _ => {}
                        }
                        let m = &model[&id];
                        prop_assert_eq!(&r.data()["r"], &json!({ "title": m.title, "completed": m.completed }));
                    }
                    // Someone else's task, or a deleted one: NOT_FOUND, nothing changes.
                    _ => {
                        prop_assert_eq!(r.code(), Some("NOT_FOUND"), "{:?} by user {} on {}: {}", op, user, id, r.body)
                    }
                }
            }
            Op::List { user } => {
                let r = app
                    .gql(
                        Some(&users[*user].access),
                        "{ tasks(first: 100) { nodes { id title completed } } }",
                        json!({}),
                    )
                    .await;
                let got: BTreeMap<String, (String, bool)> = r.ok()["tasks"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| {
                        (
                            n["id"].as_str().unwrap().to_owned(),
                            (n["title"].as_str().unwrap().to_owned(), n["completed"].as_bool().unwrap()),
                        )
                    })
                    .collect();
                let want: BTreeMap<String, (String, bool)> = model
                    .iter()
                    .filter(|(_, m)| m.owner == *user)
                    .map(|(id, m)| (id.clone(), (m.title.clone(), m.completed)))
                    .collect();
                prop_assert_eq!(got, want);
            }
        }
    }
    Ok(())
}

fn isolation(backend: Backend, cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = rt.block_on(TestApp::spawn_with(backend, |c| c.signup_ip_max = 10_000));
    let mut runner = TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() });
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| rt.block_on(run_ops(&app, &ops)));
    rt.block_on(async { drop(app) });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn random_operations_never_cross_users_on_sqlite() {
    isolation(Backend::Sqlite, 24);
}

#[test]
fn random_operations_never_cross_users_on_postgres() {
    if let Some(b) = Backend::postgres("properties::random_operations_never_cross_users") {
        isolation(b, 12);
    }
}

#[test]
fn no_single_byte_change_to_a_valid_token_is_accepted() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (app, s) = rt.block_on(async {
        let app = TestApp::spawn(Backend::Sqlite).await;
        let s = app.signup("alice@example.com").await;
        (app, s)
    });
    let token = s.access.clone();
    let len = token.len();
    let mut runner = TestRunner::new(RunnerConfig { cases: 256, failure_persistence: None, ..RunnerConfig::default() });
    let result = runner.run(&(0..len, 0x21u8..0x7f), |(pos, byte)| {
        let mut bytes = token.clone().into_bytes();
        prop_assume!(bytes[pos] != byte);
        bytes[pos] = byte;
        let mutated = String::from_utf8(bytes).unwrap();
        let r = rt.block_on(app.gql_with_auth(&format!("Bearer {mutated}"), "{ me { id } }"));
        prop_assert_eq!(r.status, 401, "accepted a changed token: {}", mutated);
        Ok(())
    });
    rt.block_on(async { drop(app) });
    if let Err(e) = result {
        panic!("{e}");
    }
}
