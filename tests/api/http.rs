//! The HTTP surface of CONTRACT §2 and the statuses of §5.

use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, Gql, TestApp};

both_backends! {
    async fn health_and_readiness_answer(b: Backend) {
        let app = TestApp::spawn(b).await;
        assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
        assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    }

    async fn posts_a_form_could_send_are_refused_with_415_before_anything_runs(b: Backend) {
        let app = TestApp::spawn(b).await;
        let body = r#"{"query":"mutation { signup(input: {email: \"csrf@example.com\", password: \"correct horse battery\"}) { accessToken } }"}"#;
        for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), None] {
            let mut req = app.client.post(app.url("/graphql")).body(body);
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            let r = Gql::from(req.send().await.unwrap()).await;
            assert_eq!(r.status, 415, "{content_type:?}");
        }
        // Nothing ran: the email is still free.
        app.signup("csrf@example.com").await;
        // The same body as JSON (charset allowed) works.
        let r = app.client.post(app.url("/graphql")).header("content-type", "application/json; charset=utf-8")
            .body(r#"{"query":"{ __typename }"}"#).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn get_runs_queries_and_refuses_mutations_with_405(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let r = app.client.get(app.url("/graphql")).query(&[("query", "{ me { email } }")]).bearer_auth(&s.access).send().await.unwrap();
        let r = Gql::from(r).await;
        assert_eq!(r.ok()["me"]["email"], "alice@example.com");
        for (query, op) in [("mutation { logout }", None), ("query A { __typename } mutation B { logout }", Some("B"))] {
            let mut params = vec![("query", query)];
            if let Some(op) = op { params.push(("operationName", op)); }
            let r = app.client.get(app.url("/graphql")).query(&params).bearer_auth(&s.access).send().await.unwrap();
            assert_eq!(r.status(), 405);
            assert_eq!(r.headers()["allow"], "POST");
        }
        // logout never ran: the refresh token still works.
        let r = app.gql(None, "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", json!({ "t": s.refresh })).await;
        r.ok();
    }

    async fn a_browser_gets_graphiql_on_get(b: Backend) {
        let app = TestApp::spawn(b).await;
        let r = app.client.get(app.url("/graphql")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(r.text().await.unwrap().contains("GraphiQL"));
        let off = TestApp::spawn_with(Backend::Sqlite, |c| c.graphiql = false).await;
        let r = off.client.get(off.url("/graphql")).header("accept", "text/html").send().await.unwrap();
        assert_ne!(r.status(), 200);
    }

    async fn batches_run_up_to_the_limit(b: Backend) {
        let app = TestApp::spawn(b).await;
        let one = json!({ "query": "{ __typename }" });
        let r = app.client.post(app.url("/graphql")).json(&vec![one.clone(); 10]).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body.as_array().unwrap().len(), 10);
        let r = app.client.post(app.url("/graphql")).json(&vec![one; 11]).send().await.unwrap();
        assert_eq!(r.status(), 400);
    }

    async fn parse_and_validation_failures_carry_their_codes(b: Backend) {
        let app = TestApp::spawn(b).await;
        let r = app.gql(None, "{ me { ", json!({})).await;
        r.assert_code("GRAPHQL_PARSE_FAILED");
        assert_eq!(r.status, 200, "application/json keeps 200");
        let r = app.gql(None, "{ nope }", json!({})).await;
        r.assert_code("GRAPHQL_VALIDATION_FAILED");
        let r = app.client.post(app.url("/graphql")).header("accept", "application/graphql-response+json")
            .json(&json!({ "query": "{ nope }" })).send().await.unwrap();
        assert_eq!(r.status(), 400, "graphql-response+json makes request errors 400");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/graphql-response+json"));
        let r = app.client.post(app.url("/graphql")).header("content-type", "application/json").body("{not json").send().await.unwrap();
        assert_eq!(r.status(), 400);
    }

    async fn request_errors_have_no_data_and_answer_400_under_the_graphql_media_type(b: Backend) {
        let app = TestApp::spawn(b).await;
        let cases = [
            (json!({ "query": "{ __typename" }), "GRAPHQL_PARSE_FAILED"),
            (json!({ "query": "{ nope }" }), "GRAPHQL_VALIDATION_FAILED"),
            (json!({ "query": "query($n: Int!) { tasks(first: $n) { totalCount } }", "variables": { "n": "x" } }), "GRAPHQL_VALIDATION_FAILED"),
            (json!({ "query": "query A { __typename }", "operationName": "B" }), "OPERATION_RESOLUTION_FAILURE"),
            (json!({ "query": "{ __typename }", "operationName": "Signup" }), "OPERATION_RESOLUTION_FAILURE"),
            (json!({ "query": "query A { __typename } query B { __typename }" }), "OPERATION_RESOLUTION_FAILURE"),
        ];
        for (body, code) in cases {
            for (accept, status) in [("application/json", 200), ("application/graphql-response+json", 400)] {
                let r = app.client.post(app.url("/graphql")).header("accept", accept).json(&body).send().await.unwrap();
                let r = Gql::from(r).await;
                assert_eq!(r.status, status, "{body} with {accept}: {}", r.body);
                r.assert_code(code);
                assert!(r.body.get("data").is_none(), "a request error has no data: {}", r.body);
            }
        }
        // A subscription needs the WebSocket: 400 over HTTP, nothing run.
        for accept in ["application/json", "application/graphql-response+json"] {
            let body = json!({ "query": "subscription { taskEvents { kind } }" });
            let r = app.client.post(app.url("/graphql")).header("accept", accept).json(&body).send().await.unwrap();
            let r = Gql::from(r).await;
            assert_eq!(r.status, 400, "{}", r.body);
            r.assert_code("BAD_REQUEST");
            assert!(r.body.get("data").is_none(), "{}", r.body);
        }
        // The named operation of several runs.
        let r = app.gql(None, "query A { a: __typename } query B { b: __typename }", json!({})).await;
        r.assert_code("OPERATION_RESOLUTION_FAILURE");
        let body = json!({ "query": "query A { a: __typename } query B { b: __typename }", "operationName": "B" });
        let r = Gql::from(app.client.post(app.url("/graphql")).json(&body).send().await.unwrap()).await;
        assert_eq!(r.ok(), &json!({ "b": "Query" }));
    }

    async fn errored_fields_keep_their_key_as_the_specification_says(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let mine = app.create_task(&s.access, "mine").await;
        let unknown = uuid::Uuid::new_v4().to_string();
        // A nullable field that errors is present and null, in selection order.
        let q = format!("{{ a: task(id: \"{mine}\") {{ id }} b: task(id: \"{unknown}\") {{ id }} me {{ id }} }}");
        let r = app.gql(Some(&s.access), &q, json!({})).await;
        let text = r.body["data"].to_string();
        assert_eq!(text, format!(r#"{{"a":{{"id":"{mine}"}},"b":null,"me":{{"id":"{}"}}}}"#, s.user_id));
        assert_eq!(r.body["errors"][0]["path"], json!(["b"]));
        r.assert_code("NOT_FOUND");
        // Alone, through a fragment too: the key stays.
        for q in [format!("{{ task(id: \"{unknown}\") {{ id }} }}"), format!("{{ ...Q }} fragment Q on Query {{ task(id: \"{unknown}\") {{ id }} }}")] {
            let r = app.gql(Some(&s.access), &q, json!({})).await;
            assert_eq!(r.body["data"], json!({ "task": null }), "{q}: {}", r.body);
        }
        // A non-null root field that errors nulls `data` itself (not dropped).
        let r = app.gql(None, "{ __typename me { id } }", json!({})).await;
        assert_eq!(r.body["data"], serde_json::Value::Null, "{}", r.body);
        assert!(r.body.as_object().unwrap().contains_key("data"), "{}", r.body);
        let r = app.gql(Some(&s.access), "mutation { deleteTask(id: \"00000000-0000-0000-0000-000000000000\") }", json!({})).await;
        assert!(r.body.as_object().unwrap().contains_key("data") && r.body["data"].is_null(), "{}", r.body);
        // Over the socket: the same shape in a `next` payload.
        let mut ws = crate::ws::Ws::connect(&app, Some(&s.access)).await;
        ws.subscribe("1", &format!("{{ a: task(id: \"{unknown}\") {{ id }} me {{ id }} }}")).await;
        let payload = ws.event("1").await;
        assert_eq!(payload["data"], json!({ "a": null, "me": { "id": s.user_id } }), "{payload}");
        // An anonymous `taskEvents` (TaskEvent!) nulls the payload's data.
        let mut anon = crate::ws::Ws::connect(&app, None).await;
        anon.task_events("2").await;
        let payload = anon.event("2").await;
        assert!(payload.as_object().unwrap().contains_key("data") && payload["data"].is_null(), "{payload}");
        assert_eq!(payload["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }

    async fn a_caller_with_a_token_gets_200_for_field_errors(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let r = app.gql(Some(&s.access), "{ task(id: \"00000000-0000-0000-0000-000000000000\") { id } }", json!({})).await;
        r.assert_code("NOT_FOUND");
        assert_eq!(r.status, 200);
        // A failed login with no Authorization header is a 401.
        let r = app.gql(None, "mutation { login(input: {email: \"alice@example.com\", password: \"wrong password\"}) { accessToken } }", json!({})).await;
        assert_eq!(r.status, 401);
    }

    async fn a_database_failure_is_an_internal_error_that_tells_nothing(b: Backend) {
        use sea_orm::ConnectionTrait;
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        app.db.execute_unprepared("DROP TABLE tasks").await.unwrap();
        let r = app.gql(Some(&s.access), "{ tasks { totalCount nodes { id } } }", json!({})).await;
        r.assert_code("INTERNAL_SERVER_ERROR");
        assert_eq!(r.message(), Some("Internal server error"));
        for e in r.body["errors"].as_array().unwrap() {
            assert_eq!(e["message"], "Internal server error", "no database text: {e}");
            assert_eq!(e["extensions"], json!({ "code": "INTERNAL_SERVER_ERROR" }), "no detail: {e}");
        }
        // The rest of the server still works.
        app.gql(Some(&s.access), "{ me { id } }", json!({})).await.ok();
    }

    async fn cors_answers_only_the_configured_origins(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.cors_allowed_origins = vec!["https://app.example.com".into()]).await;
        let preflight = |origin: &'static str| app.client.request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send();
        let r = preflight("https://app.example.com").await.unwrap();
        assert!(r.status().is_success());
        assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example.com");
        let allowed = r.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
        assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
        assert!(r.headers().get("access-control-allow-credentials").is_none());
        let r = preflight("https://evil.example.net").await.unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
        let r = app.client.post(app.url("/graphql")).header("origin", "https://app.example.com")
            .json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example.com");
        // With none configured, no origin is allowed.
        let same_origin = TestApp::spawn(Backend::Sqlite).await;
        let r = same_origin.client.request(reqwest::Method::OPTIONS, same_origin.url("/graphql"))
            .header("origin", "https://app.example.com").header("access-control-request-method", "POST").send().await.unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }

    async fn the_ide_is_served_by_the_binary_with_a_self_only_policy(b: Backend) {
        let app = TestApp::spawn(b).await;
        let r = app.client.get(app.url("/graphql")).header("accept", "text/html").send().await.unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("http") && !csp.contains("unsafe-inline") && !csp.contains("*"), "only 'self': {csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        let page = r.text().await.unwrap();
        assert!(!page.contains("<script>") && !page.contains("<style"), "no inline script or style");
        assert!(!page.contains("https://") && !page.contains("http://"), "nothing from another origin");
        let assets: Vec<&str> = page.split('"').filter(|s| s.starts_with("/graphiql/assets/")).collect();
        assert!(assets.len() >= 4, "{page}");
        for path in &assets {
            let r = app.client.get(app.url(path)).header("accept-encoding", "br, gzip").send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable", "{path}");
            let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(
                (path.ends_with(".js") && ct.starts_with("text/javascript"))
                    || (path.ends_with(".css") && ct.starts_with("text/css"))
                    || (path.ends_with(".svg") && ct == "image/svg+xml"),
                "{path}: {ct}"
            );
            if path.ends_with(".js") || path.ends_with(".css") {
                assert!(r.headers().contains_key("content-encoding"), "{path} is compressed");
            }
        }
        let missing = app.client.get(app.url("/graphiql/assets/nope.js")).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        let sneaky = app.client.get(app.url("/graphiql/assets/..%2Fcsp.txt")).send().await.unwrap();
        assert_eq!(sneaky.status(), 404);

        let off = TestApp::spawn_with(Backend::Sqlite, |c| c.graphiql = false).await;
        for path in assets.iter().copied().chain(["/graphql"]) {
            let r = off.client.get(off.url(path)).header("accept", "text/html").send().await.unwrap();
            assert_ne!(r.status(), 200, "GRAPHIQL=false serves no {path}");
        }
    }

    async fn responses_carry_a_request_id_and_nosniff(b: Backend) {
        let app = TestApp::spawn(b).await;
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert!(r.headers().contains_key("x-request-id"));
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let r = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
        assert_eq!(r.headers()["x-request-id"], "abc-123");
    }

    async fn a_body_over_the_limit_is_refused_with_413(b: Backend) {
        let app = TestApp::spawn(b).await;
        let big = format!(r#"{{"query":"{{ __typename }}","x":"{}"}}"#, "a".repeat(65 * 1024));
        let r = app.client.post(app.url("/graphql")).header("content-type", "application/json").body(big).send().await.unwrap();
        assert_eq!(r.status(), 413);
    }
}
