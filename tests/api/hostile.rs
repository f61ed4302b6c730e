//! CONTRACT §7: no request crashes the process or costs more than its
//! size. Every hostile document goes through every transport (POST, GET,
//! a batch item, a WebSocket `subscribe`) on both backends; after each the
//! server still answers and an open subscription still gets its event.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Session, TestApp};
use crate::ws::{Frame, Ws};

/// How a document reaches the server.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Door {
    Post,
    Get,
    Batch,
    Socket,
}

const DOORS: [Door; 4] = [Door::Post, Door::Get, Door::Batch, Door::Socket];

/// What came back: the body of the one result, whatever the transport.
struct Answer {
    status: Option<u16>,
    body: Value,
}

impl Answer {
    fn codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map_or(vec![], |e| e.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("-").to_owned()).collect())
    }

    #[track_caller]
    fn refused(&self, code: &str) {
        let codes = self.codes();
        assert!(!codes.is_empty() && codes.iter().all(|c| c == code), "expected only {code}: {}", self.body);
        assert!(self.body.get("data").is_none(), "a request error has no data: {}", self.body);
    }
}

struct Hostile<'a> {
    app: &'a TestApp,
    token: &'a str,
    watcher: Ws,
    socket: Ws,
    sent: usize,
}

impl<'a> Hostile<'a> {
    async fn new(app: &'a TestApp, session: &'a Session) -> Self {
        let mut watcher = Ws::connect(app, Some(&session.access)).await;
        watcher.task_events("events").await;
        watcher.settle().await;
        let socket = Ws::connect(app, Some(&session.access)).await;
        Self { app, token: &session.access, watcher, socket, sent: 0 }
    }

    /// Sends `query` (and `variables`) through `door`.
    async fn send(&mut self, door: Door, query: &str, variables: Value) -> Answer {
        let url = self.app.url("/graphql");
        let client = &self.app.client;
        let request = json!({ "query": query, "variables": variables });
        let (status, body) = match door {
            Door::Post => {
                let r = client.post(url).bearer_auth(self.token).json(&request).send().await.unwrap();
                (Some(r.status().as_u16()), r.json::<Value>().await.unwrap())
            }
            Door::Get => {
                let mut params = vec![("query", query.to_owned())];
                if !variables.is_null() {
                    params.push(("variables", variables.to_string()));
                }
                let r = client.get(url).bearer_auth(self.token).query(&params).send().await.unwrap();
                (Some(r.status().as_u16()), r.json::<Value>().await.unwrap())
            }
            Door::Batch => {
                let body = json!([request, { "query": "{ __typename }" }]);
                let r = client.post(url).bearer_auth(self.token).json(&body).send().await.unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                assert_eq!(body[1]["data"]["__typename"], "Query", "the batch's other item runs: {body}");
                (Some(status), body[0].clone())
            }
            Door::Socket => {
                self.sent += 1;
                let id = format!("h{}", self.sent);
                self.socket.send(json!({ "type": "subscribe", "id": id, "payload": request })).await;
                let body = loop {
                    match self.socket.within(std::time::Duration::from_secs(20)).await {
                        Frame::Json(v) if v["id"] != id.as_str() => continue,
                        Frame::Json(v) if v["type"] == "error" => break json!({ "errors": v["payload"] }),
                        Frame::Json(v) if v["type"] == "next" => {
                            let payload = v["payload"].clone();
                            assert_eq!(
                                self.socket.next().await,
                                Frame::Json(json!({ "type": "complete", "id": id })),
                                "an operation completes after its result"
                            );
                            break payload;
                        }
                        other => panic!("{door:?} {id}: expected a result, got {other:?}"),
                    }
                };
                (None, body)
            }
        };
        Answer { status, body }
    }

    /// The server still serves, and the open subscription still delivers.
    async fn still_serving(&mut self) {
        let r = self.app.gql(Some(self.token), "{ me { id } }", json!({})).await;
        r.ok();
        let id = self.app.create_task(self.token, "still here").await;
        let event = self.watcher.event("events").await;
        assert_eq!(event["data"]["taskEvents"]["taskId"], id.as_str(), "{event}");
    }
}

fn nest(open: &str, inner: &str, close: &str, levels: usize) -> String {
    format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
}

/// A fragment DAG: F(k) spreads F(k-1) twice; F0 holds `leaf`.
fn dag(levels: usize, on: &str, leaf: &str) -> String {
    let mut q = format!("fragment F0 on {on} {{ {leaf} }}");
    for i in 1..=levels {
        q.push_str(&format!(" fragment F{i} on {on} {{ ...F{} ...F{} }}", i - 1, i - 1));
    }
    q
}

both_backends! {
    async fn deep_values_types_and_selections_are_refused_before_they_are_walked(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let mut h = Hostile::new(&app, &s).await;
        let deep = 2_000;
        let cases = [
            format!("{{ tasks(first: 1, filter: {}) {{ totalCount }} }}", nest("[", "1", "]", deep)),
            format!("{{ tasks(first: 1, filter: {}) {{ totalCount }} }}", nest("{a: ", "1", "}", deep)),
            format!("{{ __typename @skip(if: {}) }}", nest("[", "true", "]", deep)),
            format!("query($v: [Int] = {}) {{ __typename }}", nest("[", "1", "]", deep)),
            format!("query($v: {}) {{ __typename }}", nest("[", "Int", "]", deep)),
            nest("{ me ", "{ id }", " }", deep),
            nest("{ ... on Query ", "{ __typename }", " }", deep),
            // Just past the bound, where the parser itself would still cope.
            format!("{{ tasks(first: 1, filter: {}) {{ totalCount }} }}", nest("[", "1", "]", 65)),
        ];
        for door in DOORS {
            for query in &cases {
                let answer = h.send(door, query, Value::Null).await;
                answer.refused("GRAPHQL_PARSE_FAILED");
                h.still_serving().await;
            }
        }
        // A few levels, as clients write them, still work.
        for door in DOORS {
            let q = "query($f: TaskFilter = {completed: true, search: \"[{(\"}) { tasks(first: 1, filter: $f) { totalCount } }";
            let answer = h.send(door, q, Value::Null).await;
            assert_eq!(answer.body, json!({ "data": { "tasks": { "totalCount": 0 } } }), "{door:?}");
        }
    }

    async fn deep_json_in_variables_and_extensions_is_a_bad_request(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let mut h = Hostile::new(&app, &s).await;
        for levels in [100, 5_000] {
            let value: Value = serde_json::from_str(&nest("[", "1", "]", levels)).unwrap_or(Value::Null);
            let raw = nest("[", "1", "]", levels);
            // POST and a batch item: the body itself.
            for body in [
                format!("{{\"query\": \"{{ __typename }}\", \"variables\": {{\"v\": {raw}}}}}"),
                format!("{{\"query\": \"{{ __typename }}\", \"extensions\": {{\"v\": {raw}}}}}"),
                format!("[{{\"query\": \"{{ __typename }}\", \"variables\": {{\"v\": {raw}}}}}]"),
            ] {
                let r = app.client.post(app.url("/graphql")).header("content-type", "application/json")
                    .header("accept", "application/graphql-response+json").body(body).send().await.unwrap();
                assert_eq!(r.status(), 400);
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{body}");
                assert!(body.get("data").is_none(), "{body}");
            }
            // GET: the `variables` parameter.
            let r = app.client.get(app.url("/graphql"))
                .query(&[("query", "query($v: Int) { __typename }".to_owned()), ("variables", format!("{{\"v\": {raw}}}"))])
                .send().await.unwrap();
            assert_eq!(r.status(), 400, "GET with {levels} levels");
            // WebSocket: a message nested too deep is not protocol JSON.
            let mut ws = Ws::connect(&app, Some(&s.access)).await;
            ws.send(json!({ "type": "subscribe", "id": "1", "payload": { "query": "{ __typename }", "variables": { "v": value } } })).await;
            let frame = ws.next().await;
            // serde_json cannot even build the 5,000-level value; then nothing was sent.
            if !Value::Null.eq(&value) {
                assert_eq!(frame, Frame::Close(4400));
            }
            h.still_serving().await;
        }
    }

    async fn a_fragment_dag_runs_each_fragment_once(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        app.create_task(&s.access, "one").await;
        let mut h = Hostile::new(&app, &s).await;
        let levels = 26;
        let top = format!("F{levels}");
        let cases: Vec<(String, Value)> = vec![
            (format!("query Q {{ ...{top} }} {}", dag(levels, "Query", "__typename")), json!({ "__typename": "Query" })),
            (format!("query Q {{ ...{top} }} {}", dag(levels, "Query", "t: __typename")), json!({ "t": "Query" })),
            (format!("query Q {{ ...{top} }} {}", dag(levels, "Query", "me { id }")), json!({ "me": { "id": s.user_id } })),
            (
                format!(
                    "{{ tasks(first: 1, orderBy: {{field: CREATED_AT, direction: ASC}}) {{ edges {{ node {{ ...{top} }} }} }} }} {}",
                    dag(levels, "Task", "title")
                ),
                json!({ "tasks": { "edges": [{ "node": { "title": "one" } }] } }),
            ),
        ];
        for door in DOORS {
            for (query, data) in &cases {
                let answer = h.send(door, query, Value::Null).await;
                assert_eq!(answer.body, json!({ "data": data }), "{door:?}");
                h.still_serving().await;
            }
        }
        // `{ ...F ...F }` runs F once: one task made, not two.
        let q = "mutation { ...M ...M } fragment M on Mutation { createTask(input: {title: \"once\"}) { id } }";
        let answer = h.send(Door::Post, q, Value::Null).await;
        assert!(answer.body["data"]["createTask"]["id"].is_string(), "{}", answer.body);
        let r = app.gql(Some(&s.access), "{ tasks(filter: {search: \"once\"}) { totalCount } }", json!({})).await;
        assert_eq!(r.ok()["tasks"]["totalCount"], 1);
    }

    async fn costs_are_counted_as_the_document_would_run(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let mut h = Hostile::new(&app, &s).await;
        let cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { __typename ...A }";
        // 20 aliases in a fragment spread into two fields: 42 as it would run.
        let aliases_through_fragments = format!(
            "{{ a: me {{ ...U }} b: me {{ ...U }} }} fragment U on User {{ {} }}",
            (0..20).map(|i| format!("x{i}: id")).collect::<Vec<_>>().join(" ")
        );
        let cases: Vec<(String, &str)> = vec![
            (cycle.to_owned(), "GRAPHQL_VALIDATION_FAILED"),
            // A real leaf multiplied through the DAG's fields: over complexity.
            (format!("{{ a: tasks {{ ...T }} b: tasks {{ ...T }} }} fragment T on TaskConnection {{ {} }}",
                (0..600).map(|i| format!("t{i}: totalCount")).collect::<Vec<_>>().join(" ")), "GRAPHQL_VALIDATION_FAILED"),
            (format!("{{ {} }}", "__typename ".repeat(5_000)), "GRAPHQL_VALIDATION_FAILED"),
            (format!("{{ {} }}", "unknownField ".repeat(4_000)), "GRAPHQL_VALIDATION_FAILED"),
            (format!("{{ __typename {} }}", "@include(if: true) ".repeat(3_000)), "GRAPHQL_PARSE_FAILED"),
            (aliases_through_fragments, "GRAPHQL_VALIDATION_FAILED"),
            // Several operations and no `operationName`: refused before any counting.
            ((0..2_000).map(|i| format!("query Q{i} {{ __typename }}")).collect::<Vec<_>>().join(" "), "OPERATION_RESOLUTION_FAILURE"),
            // One anonymous operation among 2,000 fragments' worth of text: over complexity.
            (format!("{{ ...A }} fragment A on Query {{ {} }}", "__typename ".repeat(1_500)), "GRAPHQL_VALIDATION_FAILED"),
            (format!("{{ {} }}", "me { unknown } ".repeat(400)), "GRAPHQL_VALIDATION_FAILED"),
        ];
        for door in DOORS {
            for (query, code) in &cases {
                // A URL that long is refused by hyper itself (414) before us.
                if door == Door::Get && query.len() > 16 * 1024 {
                    continue;
                }
                let answer = h.send(door, query, Value::Null).await;
                answer.refused(code);
                assert!(answer.codes().len() <= 100, "at most 100 errors: {}", answer.codes().len());
                if let Some(status) = answer.status {
                    assert!(status < 500, "{door:?}: {status}");
                }
                h.still_serving().await;
            }
        }
    }

    async fn huge_literals_are_answered_without_an_internal_error(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let mut h = Hostile::new(&app, &s).await;
        let long = "a".repeat(60_000);
        for door in [Door::Post, Door::Batch, Door::Socket] {
            let q = format!("{{ tasks(first: 1, filter: {{search: \"{long}\"}}) {{ totalCount }} }}");
            let answer = h.send(door, &q, Value::Null).await;
            assert_eq!(answer.codes(), ["BAD_USER_INPUT"], "{door:?}");
            assert_eq!(answer.body["errors"][0]["extensions"]["field"], "search");
            // The same through a variable.
            let q = "query($s: String) { tasks(first: 1, filter: {search: $s}) { totalCount } }";
            let answer = h.send(door, q, json!({ "s": long })).await;
            assert_eq!(answer.codes(), ["BAD_USER_INPUT"], "{door:?}");
            let answer = h.send(door, "{ tasks(first: 99999999999999999999999) { totalCount } }", Value::Null).await;
            assert!(!answer.codes().is_empty() && !answer.codes().contains(&"INTERNAL_SERVER_ERROR".to_owned()), "{}", answer.body);
            h.still_serving().await;
        }
        // The longest search that is allowed answers.
        let q = "query($s: String) { tasks(first: 1, filter: {search: $s}) { totalCount } }";
        let r = app.gql(Some(&s.access), q, json!({ "s": "%_\\".repeat(666) })).await;
        assert_eq!(r.ok()["tasks"]["totalCount"], 0);
    }
}
