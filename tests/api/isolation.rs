//! CONTRACT §4: another user's task behaves exactly like one that does not
//! exist, and nothing changes.

use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends! {
    async fn another_users_task_is_indistinguishable_from_a_missing_one(b: Backend) {
        let app = TestApp::spawn(b).await;
        let alice = app.signup("alice@example.com").await;
        let bob = app.signup("bob@example.com").await;
        let theirs = app.create_task(&alice.access, "alice's secret").await;
        let missing = uuid::Uuid::new_v4().to_string();

        let ops = [
            "query($id: ID!) { task(id: $id) { id title } }",
            "mutation($id: ID!) { updateTask(id: $id, input: {title: \"pwned\", description: \"x\"}) { id } }",
            "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }",
            "mutation($id: ID!) { deleteTask(id: $id) }",
        ];
        for op in ops {
            let other = app.gql(Some(&bob.access), op, json!({ "id": theirs })).await;
            let none = app.gql(Some(&bob.access), op, json!({ "id": missing })).await;
            other.assert_code("NOT_FOUND");
            assert_eq!(other.status, none.status, "{op}");
            assert_eq!(other.message(), none.message(), "{op}");
            assert_eq!(other.body["errors"][0]["extensions"], none.body["errors"][0]["extensions"], "{op}");
            assert_eq!(other.data(), none.data(), "{op}");
        }
        // Bob's list does not show it, and Alice's task is untouched.
        let list = app.gql(Some(&bob.access), "{ tasks { totalCount nodes { id } } }", json!({})).await;
        assert_eq!(list.ok()["tasks"]["totalCount"], 0);
        let search = app.gql(Some(&bob.access), "{ tasks(filter: {search: \"secret\"}) { totalCount } }", json!({})).await;
        assert_eq!(search.ok()["tasks"]["totalCount"], 0);
        let mine = app.gql(Some(&alice.access), "query($id: ID!) { task(id: $id) { title completed description } }", json!({ "id": theirs })).await;
        assert_eq!(mine.ok()["task"], json!({ "title": "alice's secret", "completed": false, "description": null }));
    }

    async fn each_user_sees_only_their_own_tasks(b: Backend) {
        let app = TestApp::spawn(b).await;
        let alice = app.signup("alice@example.com").await;
        let bob = app.signup("bob@example.com").await;
        for i in 0..3 { app.create_task(&alice.access, &format!("a{i}")).await; }
        for i in 0..2 { app.create_task(&bob.access, &format!("b{i}")).await; }
        let q = "{ tasks { totalCount nodes { title } } }";
        let a = app.gql(Some(&alice.access), q, json!({})).await;
        let b_ = app.gql(Some(&bob.access), q, json!({})).await;
        assert_eq!(a.ok()["tasks"]["totalCount"], 3);
        assert_eq!(b_.ok()["tasks"]["totalCount"], 2);
        assert!(a.data()["tasks"]["nodes"].as_array().unwrap().iter().all(|n| n["title"].as_str().unwrap().starts_with('a')));
        assert!(b_.data()["tasks"]["nodes"].as_array().unwrap().iter().all(|n| n["title"].as_str().unwrap().starts_with('b')));
    }

    async fn no_input_can_name_an_owner(b: Backend) {
        let app = TestApp::spawn(b).await;
        let alice = app.signup("alice@example.com").await;
        let bob = app.signup("bob@example.com").await;
        let r = app.gql(Some(&bob.access), "mutation($o: ID!) { createTask(input: {title: \"x\", ownerId: $o}) { id } }", json!({ "o": alice.user_id })).await;
        r.assert_code("GRAPHQL_VALIDATION_FAILED");
        let id = app.create_task(&bob.access, "mine").await;
        let r = app.gql(Some(&bob.access), "mutation($id: ID!, $o: ID!) { updateTask(id: $id, input: {ownerId: $o}) { id } }", json!({ "id": id, "o": alice.user_id })).await;
        r.assert_code("GRAPHQL_VALIDATION_FAILED");
        let list = app.gql(Some(&alice.access), "{ tasks { totalCount } }", json!({})).await;
        assert_eq!(list.ok()["tasks"]["totalCount"], 0);
    }
}
