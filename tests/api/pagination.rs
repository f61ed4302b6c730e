//! Keyset pagination, orders and page bounds (CONTRACT §3).

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $o: TaskOrder, $f: TaskFilter) {
  tasks(first: $first, after: $after, last: $last, before: $before, orderBy: $o, filter: $f) {
    totalCount
    edges { cursor node { id title createdAt updatedAt } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  } }";

/// Seeds `n` tasks as fast as possible, so many share a millisecond.
async fn seed(app: &TestApp, token: &str, titles: impl IntoIterator<Item = String>) {
    let make = "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }";
    let futures = titles.into_iter().map(|t| app.gql(Some(token), make, json!({ "i": { "title": t } })));
    for r in futures::future::join_all(futures).await {
        r.ok();
    }
}

async fn walk_forward(app: &TestApp, token: &str, size: u32, order: Value) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let r = app.gql(Some(token), PAGE, json!({ "first": size, "after": after, "o": order })).await;
        let t = r.ok()["tasks"].clone();
        let edges = t["edges"].as_array().unwrap();
        assert!(edges.len() <= size as usize);
        assert_eq!(t["nodes"].as_array().unwrap().len(), edges.len());
        assert_eq!(t["pageInfo"]["hasPreviousPage"], !after.is_null());
        if let Some(first) = edges.first() {
            assert_eq!(t["pageInfo"]["startCursor"], first["cursor"]);
        }
        seen.extend(edges.iter().map(|e| e["node"].clone()));
        if t["pageInfo"]["hasNextPage"] == false {
            return seen;
        }
        after = t["pageInfo"]["endCursor"].clone();
    }
}

async fn walk_backward(app: &TestApp, token: &str, size: u32, order: Value) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut before = Value::Null;
    loop {
        let r = app.gql(Some(token), PAGE, json!({ "last": size, "before": before, "o": order })).await;
        let t = r.ok()["tasks"].clone();
        let nodes: Vec<Value> = t["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
        assert_eq!(t["pageInfo"]["hasNextPage"], !before.is_null());
        seen.splice(0..0, nodes);
        if t["pageInfo"]["hasPreviousPage"] == false {
            return seen;
        }
        before = t["pageInfo"]["startCursor"].clone();
    }
}

fn ids(nodes: &[Value]) -> Vec<String> {
    nodes.iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
}

both_backends! {
    async fn total_count_is_the_whole_filtered_set_on_every_page(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let other = app.signup("bob@example.com").await;
        seed(&app, &s.access, (0..7).map(|i| if i % 2 == 0 { format!("milk {i}") } else { format!("bread {i}") })).await;
        seed(&app, &other.access, (0..5).map(|i| format!("milk {i}"))).await;
        let milk = json!({ "search": "MILK" });
        for (filter, total) in [(json!(null), 7), (milk.clone(), 4), (json!({ "search": "cheese" }), 0)] {
            // Forward to one page past the end (an empty page after a cursor), then backward.
            let mut after = Value::Null;
            loop {
                let r = app.gql(Some(&s.access), PAGE, json!({ "first": 2, "after": after, "f": filter })).await;
                let t = r.ok()["tasks"].clone();
                assert_eq!(t["totalCount"], total, "filter {filter}, after {after}");
                if t["edges"].as_array().unwrap().is_empty() {
                    break;
                }
                after = t["pageInfo"]["endCursor"].clone();
            }
            let r = app.gql(Some(&s.access), PAGE, json!({ "last": 3, "f": filter })).await;
            assert_eq!(r.ok()["tasks"]["totalCount"], total);
        }
        // Asked through an alias and a fragment, it is still counted.
        let r = app
            .gql(
                Some(&s.access),
                "query($f: TaskFilter) { tasks(first: 1, filter: $f) { ... on TaskConnection { n: totalCount } nodes { id } } }",
                json!({ "f": milk }),
            )
            .await;
        assert_eq!(r.ok()["tasks"]["n"], 4);
        assert_eq!(r.ok()["tasks"]["nodes"].as_array().unwrap().len(), 1);
    }

    async fn pages_never_repeat_or_skip_a_task_in_either_direction(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        seed(&app, &s.access, (0..47).map(|i| format!("task {i:02}"))).await;

        let default = app.gql(Some(&s.access), PAGE, json!({})).await;
        assert_eq!(default.ok()["tasks"]["edges"].as_array().unwrap().len(), 20, "default page is 20");
        assert_eq!(default.data()["tasks"]["totalCount"], 47);

        for order in [json!(null), json!({ "field": "CREATED_AT", "direction": "ASC" }),
                      json!({ "field": "UPDATED_AT", "direction": "DESC" }), json!({ "field": "TITLE", "direction": "ASC" }),
                      json!({ "field": "TITLE", "direction": "DESC" })] {
            let forward = walk_forward(&app, &s.access, 7, order.clone()).await;
            let mut unique = ids(&forward);
            assert_eq!(unique.len(), 47, "{order}");
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), 47, "no repeats for {order}");
            let backward = walk_backward(&app, &s.access, 6, order.clone()).await;
            assert_eq!(ids(&backward), ids(&forward), "same order both ways for {order}");
        }
    }

    async fn tasks_default_to_newest_first_with_ties_broken_by_id(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        seed(&app, &s.access, (0..30).map(|i| format!("t{i}"))).await;
        let all = walk_forward(&app, &s.access, 100, Value::Null).await;
        let keys: Vec<(String, String)> = all.iter().map(|n| (n["createdAt"].as_str().unwrap().to_owned(), n["id"].as_str().unwrap().to_owned())).collect();
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(keys, sorted);
    }

    async fn title_order_compares_lower_cased_titles_then_id(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let titles = ["banana", "Apple", "apple", "Äpfel", "zebra", "Zulu", "éclair", "Eclair", "ΩMEGA", "alpha"];
        seed(&app, &s.access, titles.iter().map(|t| t.to_string())).await;
        let got = walk_forward(&app, &s.access, 3, json!({ "field": "TITLE", "direction": "ASC" })).await;
        let got_titles: Vec<String> = got.iter().map(|n| n["title"].as_str().unwrap().to_lowercase()).collect();
        let mut want = got_titles.clone();
        want.sort();
        assert_eq!(got_titles, want);
        // Equal lower-cased titles are ordered by id.
        let apples: Vec<String> = got.iter().filter(|n| n["title"].as_str().unwrap().eq_ignore_ascii_case("apple")).map(|n| n["id"].as_str().unwrap().to_owned()).collect();
        let mut sorted = apples.clone();
        sorted.sort();
        assert_eq!(apples, sorted);
    }

    async fn updated_at_order_follows_the_latest_change(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let first = app.create_task(&s.access, "first").await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        app.create_task(&s.access, "second").await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        app.gql(Some(&s.access), "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }", json!({ "id": first })).await.ok();
        let r = app.gql(Some(&s.access), PAGE, json!({ "o": { "field": "UPDATED_AT", "direction": "DESC" } })).await;
        assert_eq!(r.ok()["tasks"]["nodes"][0]["id"], first.as_str());
    }

    async fn a_filtered_walk_stays_inside_the_filter(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        seed(&app, &s.access, (0..12).map(|i| format!("{} {i}", if i % 3 == 0 { "match" } else { "other" }))).await;
        let r = app.gql(Some(&s.access), PAGE, json!({ "first": 2, "f": { "search": "MATCH" } })).await;
        let t = &r.ok()["tasks"];
        assert_eq!(t["totalCount"], 4);
        let after = t["pageInfo"]["endCursor"].clone();
        let r = app.gql(Some(&s.access), PAGE, json!({ "first": 5, "after": after, "f": { "search": "match" } })).await;
        let t = &r.ok()["tasks"];
        assert_eq!(t["edges"].as_array().unwrap().len(), 2);
        assert_eq!(t["pageInfo"]["hasNextPage"], false);
        assert_eq!(t["totalCount"], 4, "totalCount ignores the window");
    }

    async fn bad_page_arguments_are_bad_user_input(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        app.create_task(&s.access, "one").await;
        let ok = app.gql(Some(&s.access), PAGE, json!({ "first": 100 })).await;
        ok.ok();
        let zero = app.gql(Some(&s.access), PAGE, json!({ "first": 0 })).await;
        assert_eq!(zero.ok()["tasks"]["edges"], json!([]));
        let cursor = app.gql(Some(&s.access), PAGE, json!({})).await.ok()["tasks"]["pageInfo"]["endCursor"].clone();
        for (vars, field) in [
            (json!({ "first": 101 }), "first"),
            (json!({ "last": 101 }), "last"),
            (json!({ "first": -1 }), "first"),
            (json!({ "last": -5 }), "last"),
            (json!({ "first": 1, "last": 1 }), "last"),
            (json!({ "after": "not a cursor" }), "after"),
            (json!({ "after": "eyJ4IjoxfQ" }), "after"),
            (json!({ "last": 2, "before": "%%%" }), "before"),
            (json!({ "after": cursor, "o": { "field": "TITLE", "direction": "ASC" } }), "after"),
        ] {
            let r = app.gql(Some(&s.access), PAGE, vars.clone()).await;
            r.assert_code("BAD_USER_INPUT");
            assert_eq!(r.field(), Some(field), "{vars}");
        }
    }
}
