//! Creating, reading, updating, completing and deleting tasks (CONTRACT §3).

use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

const FIELDS: &str = "id title description completed createdAt updatedAt";

both_backends! {
    async fn a_new_task_is_trimmed_open_and_timestamped_in_milliseconds(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let r = app.gql(Some(&s.access), &format!("mutation {{ createTask(input: {{title: \"  Buy milk  \", description: \"2 litres\"}}) {{ {FIELDS} }} }}"), json!({})).await;
        let t = &r.ok()["createTask"];
        assert_eq!(t["title"], "Buy milk");
        assert_eq!(t["description"], "2 litres");
        assert_eq!(t["completed"], false);
        let created = t["createdAt"].as_str().unwrap();
        assert_eq!(created.len(), "2026-11-23T20:38:47.124Z".len(), "{created}");
        assert!(created.ends_with('Z'));
        assert_eq!(t["createdAt"], t["updatedAt"]);
        assert!(uuid::Uuid::parse_str(t["id"].as_str().unwrap()).is_ok());
        let r = app.gql(Some(&s.access), "mutation { createTask(input: {title: \"done already\", completed: true}) { completed description } }", json!({})).await;
        assert_eq!(r.ok()["createTask"], json!({ "completed": true, "description": null }));
    }

    async fn update_changes_only_the_given_fields(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let r = app.gql(Some(&s.access), &format!("mutation {{ createTask(input: {{title: \"t\", description: \"d\"}}) {{ {FIELDS} }} }}"), json!({})).await;
        let before = r.ok()["createTask"].clone();
        let id = before["id"].as_str().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let update = format!("mutation($id: ID!, $i: UpdateTaskInput!) {{ updateTask(id: $id, input: $i) {{ {FIELDS} }} }}");

        let r = app.gql(Some(&s.access), &update, json!({ "id": id, "i": { "completed": true } })).await;
        let t = r.ok()["updateTask"].clone();
        assert_eq!((t["title"].as_str(), t["description"].as_str(), t["completed"].as_bool()), (Some("t"), Some("d"), Some(true)));
        assert_eq!(t["createdAt"], before["createdAt"]);
        assert!(t["updatedAt"].as_str() > before["updatedAt"].as_str(), "updatedAt moves");

        let r = app.gql(Some(&s.access), &update, json!({ "id": id, "i": { "title": "  new title ", "description": null } })).await;
        let t = &r.ok()["updateTask"];
        assert_eq!((t["title"].as_str(), t["description"].is_null(), t["completed"].as_bool()), (Some("new title"), true, Some(true)));

        let r = app.gql(Some(&s.access), &update, json!({ "id": id, "i": { "title": null } })).await;
        r.assert_code("BAD_USER_INPUT");
        assert_eq!(r.field(), Some("title"));
        let r = app.gql(Some(&s.access), &update, json!({ "id": id, "i": { "title": "   " } })).await;
        r.assert_code("BAD_USER_INPUT");
        let r = app.gql(Some(&s.access), &format!("query($id: ID!) {{ task(id: $id) {{ {FIELDS} }} }}"), json!({ "id": id })).await;
        assert_eq!(r.ok()["task"]["title"], "new title", "a refused update changes nothing");
    }

    async fn set_task_completed_toggles_and_delete_removes(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let id = app.create_task(&s.access, "toggle me").await;
        let set = "mutation($id: ID!, $c: Boolean!) { setTaskCompleted(id: $id, completed: $c) { id completed } }";
        let r = app.gql(Some(&s.access), set, json!({ "id": id, "c": true })).await;
        assert_eq!(r.ok()["setTaskCompleted"]["completed"], true);
        let r = app.gql(Some(&s.access), set, json!({ "id": id, "c": false })).await;
        assert_eq!(r.ok()["setTaskCompleted"]["completed"], false);

        let r = app.gql(Some(&s.access), "mutation($id: ID!) { deleteTask(id: $id) }", json!({ "id": id })).await;
        assert_eq!(r.ok()["deleteTask"], id.as_str());
        let r = app.gql(Some(&s.access), "query($id: ID!) { task(id: $id) { id } }", json!({ "id": id })).await;
        r.assert_code("NOT_FOUND");
        assert_eq!(r.data()["task"], serde_json::Value::Null);
        let r = app.gql(Some(&s.access), "mutation($id: ID!) { deleteTask(id: $id) }", json!({ "id": id })).await;
        r.assert_code("NOT_FOUND");
        // A malformed id names nothing: the client's input is wrong.
        for q in [
            "mutation { deleteTask(id: \"not-a-uuid\") }",
            "mutation { setTaskCompleted(id: \"not-a-uuid\", completed: true) { id } }",
            "mutation { updateTask(id: \"42\", input: {title: \"x\"}) { id } }",
            "{ task(id: \"not-a-uuid\") { id } }",
        ] {
            let r = app.gql(Some(&s.access), q, json!({})).await;
            r.assert_code("BAD_USER_INPUT");
            assert_eq!(r.field(), Some("id"), "{q}: {}", r.body);
        }
    }

    async fn filters_and_search_are_case_insensitive_and_unicode_aware(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let make = "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }";
        for (title, description, completed) in [
            ("Rentrée à l'ÉCOLE", None, false),
            ("Groceries", Some("Milk, BREAD"), true),
            ("100% done_ish", None, false),
            ("ΣΊΣΥΦΟΣ", Some("rock"), false),
        ] {
            app.gql(Some(&s.access), make, json!({ "i": { "title": title, "description": description, "completed": completed } })).await.ok();
        }
        let count = |filter: serde_json::Value| {
            let app = &app;
            let token = s.access.clone();
            async move {
                let r = app.gql(Some(&token), "query($f: TaskFilter) { tasks(filter: $f) { totalCount nodes { title } } }", json!({ "f": filter })).await;
                let t = &r.ok()["tasks"];
                assert_eq!(t["totalCount"].as_u64().unwrap() as usize, t["nodes"].as_array().unwrap().len());
                t["totalCount"].as_u64().unwrap()
            }
        };
        assert_eq!(count(json!({ "search": "école" })).await, 1);
        assert_eq!(count(json!({ "search": "ÉCOLE" })).await, 1);
        assert_eq!(count(json!({ "search": "bread" })).await, 1, "description matches");
        assert_eq!(count(json!({ "search": "σίσυφος" })).await, 1);
        assert_eq!(count(json!({ "search": "%" })).await, 1, "% is literal");
        assert_eq!(count(json!({ "search": "e_i" })).await, 1, "_ is literal");
        assert_eq!(count(json!({ "search": "o_e" })).await, 0, "_ is no wildcard");
        assert_eq!(count(json!({ "completed": true })).await, 1);
        assert_eq!(count(json!({ "completed": false })).await, 3);
        assert_eq!(count(json!({ "completed": false, "search": "rock" })).await, 1);
        assert_eq!(count(json!({ "search": "" })).await, 4);
        assert_eq!(count(json!({})).await, 4);
    }
}
