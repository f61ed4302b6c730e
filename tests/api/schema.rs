//! `schema.graphql` is exactly what the server serves and exports.

use crate::helpers::{Backend, TestApp};

fn checked_in() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap()
}

/// Panics with the first differing lines, readable in CI logs.
#[track_caller]
fn assert_same(what: &str, got: &str, want: &str) {
    if got == want {
        return;
    }
    let diff: Vec<String> = got
        .lines()
        .zip(want.lines().chain(std::iter::repeat("<end of file>")))
        .enumerate()
        .filter(|(_, (g, w))| g != w)
        .take(10)
        .map(|(i, (g, w))| format!("line {}:\n  served:   {g}\n  file:     {w}", i + 1))
        .collect();
    panic!(
        "{what} differs from schema.graphql ({} vs {} lines); run `cargo run -- export-schema > schema.graphql`\n{}",
        got.lines().count(),
        want.lines().count(),
        diff.join("\n")
    );
}

#[test]
fn schema_graphql_is_the_output_of_export_schema() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_todo-graphql")).arg("export-schema").output().unwrap();
    assert!(out.status.success());
    assert_same("export-schema", &String::from_utf8(out.stdout).unwrap(), &checked_in());
}

#[tokio::test]
async fn the_served_sdl_is_schema_graphql() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app.client.get(app.url("/schema.graphql")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_same("/schema.graphql", &r.text().await.unwrap(), &checked_in());
}

#[test]
fn the_schema_names_every_type_of_the_contract() {
    let sdl = checked_in();
    for name in [
        "scalar DateTime",
        "type Query",
        "type Mutation",
        "type AuthPayload",
        "type User",
        "type Task",
        "input SignupInput",
        "input LoginInput",
        "input ChangePasswordInput",
        "input CreateTaskInput",
        "input UpdateTaskInput",
        "input TaskFilter",
        "input TaskOrder",
        "enum TaskOrderField",
        "enum OrderDirection",
        "type TaskConnection",
        "type TaskEdge",
        "type PageInfo",
    ] {
        assert!(sdl.contains(name), "{name} missing");
    }
}
