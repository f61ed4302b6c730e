//! Abuse and resource limits of CONTRACT §7: document limits, body size,
//! introspection switch, and brute-force limits on login and sign-up.

use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, Gql, TestApp, PASSWORD};

/// What GraphiQL (graphql-js `getIntrospectionQuery` with every option on) sends.
pub const GRAPHIQL_INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    description
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}"#;

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }";

fn nested(depth: usize) -> String {
    // __schema > types > fields > type > ofType…: one level per `ofType`.
    let mut q = String::from("kind");
    for _ in 0..depth.saturating_sub(4) {
        q = format!("ofType {{ {q} }}");
    }
    format!("{{ __schema {{ types {{ fields {{ type {{ {q} }} }} }} }} }}")
}

fn aliases(n: usize, email: &str, password: &str) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| format!("l{i}: login(input: {{email: \"{email}\", password: \"{password}\"}}) {{ accessToken }}"))
        .collect();
    format!("mutation {{ {} }}", fields.join(" "))
}

fn codes(r: &Gql) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map_or(vec![], |e| e.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned()).collect())
}

both_backends! {
    async fn a_document_seen_before_is_still_validated_against_its_variables(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let doc = "query($n: Int!) { tasks(first: $n) { totalCount } }";
        for _ in 0..3 {
            let r = app.gql(Some(&s.access), doc, json!({ "n": "twenty" })).await;
            assert!(matches!(r.code(), Some("BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED")), "{}", r.body);
            assert_eq!(app.gql(Some(&s.access), doc, json!({ "n": 5 })).await.ok()["tasks"]["totalCount"], 0);
            app.gql(Some(&s.access), doc, json!({ "n": 101 })).await.assert_code("BAD_USER_INPUT");
        }
        // A document that failed to parse keeps failing; one that parsed keeps its limits.
        for _ in 0..2 {
            app.gql(Some(&s.access), "{ tasks { totalCount }", json!({})).await.assert_code("GRAPHQL_PARSE_FAILED");
            app.gql(None, &nested(30), json!({})).await.assert_code("GRAPHQL_VALIDATION_FAILED");
        }
    }

    async fn the_standard_introspection_query_passes_and_a_depth_30_query_does_not(b: Backend) {
        let app = TestApp::spawn(b).await;
        let r = app.gql(None, GRAPHIQL_INTROSPECTION, json!({})).await;
        assert!(r.ok()["__schema"]["types"].as_array().unwrap().len() > 10);
        app.gql(None, &nested(14), json!({})).await.ok();
        let r = app.gql(None, &nested(30), json!({})).await;
        r.assert_code("GRAPHQL_VALIDATION_FAILED");
        assert!(r.data().is_null());
    }

    async fn complexity_counts_aliases(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.graphql_max_aliases = 10_000).await;
        let s = app.signup("alice@example.com").await;
        // Each alias of `me { id }` costs 2.
        let many = |n: usize| format!("{{ {} }}", (0..n).map(|i| format!("a{i}: me {{ id }}")).collect::<Vec<_>>().join(" "));
        app.gql(Some(&s.access), &many(500), json!({})).await.ok();
        app.gql(Some(&s.access), &many(501), json!({})).await.assert_code("GRAPHQL_VALIDATION_FAILED");
        let strict = TestApp::spawn_with(Backend::Sqlite, |c| c.graphql_max_complexity = 3).await;
        strict.gql(None, "{ me { id email } }", json!({})).await.assert_code("UNAUTHENTICATED");
        strict.gql(None, "{ me { id email name createdAt } }", json!({})).await.assert_code("GRAPHQL_VALIDATION_FAILED");
    }

    async fn directives_per_field_are_bounded(b: Backend) {
        let app = TestApp::spawn(b).await;
        let field = |n: usize| format!("{{ __typename {} }}", "@include(if: true) ".repeat(n));
        app.gql(None, &field(2), json!({})).await.ok();
        let r = app.gql(None, &field(50), json!({})).await;
        assert!(matches!(r.code(), Some("GRAPHQL_PARSE_FAILED" | "GRAPHQL_VALIDATION_FAILED")), "{}", r.body);
        assert!(r.data().is_null());
    }

    async fn a_ten_megabyte_body_gets_413(b: Backend) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let app = TestApp::spawn(b).await;
        // Announced size: refused before the body is read.
        let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "POST /graphql HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            app.addr, 10 * 1024 * 1024
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(&[b' '; 4096]).await.unwrap();
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{}", answer.lines().next().unwrap_or(""));
        // Streamed without a length (chunked): cut off at the limit.
        let chunks = futures::stream::iter((0..160).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024])));
        let r = app.client.post(app.url("/graphql")).header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(chunks)).send().await;
        match r {
            Ok(r) => assert_eq!(r.status(), 413),
            // The server may answer and close before the client has sent it all.
            Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
        }
        app.gql(None, "{ __typename }", json!({})).await.ok();
    }

    async fn introspection_off_hides_the_schema_and_suggestions(b: Backend) {
        let on = TestApp::spawn(b.clone()).await;
        let r = on.gql(None, "{ taskz }", json!({})).await;
        assert!(r.message().unwrap().contains("Did you mean"), "{}", r.body);
        let app = TestApp::spawn_with(b, |c| c.graphql_introspection = false).await;
        for (q, key) in [("{ __schema { types { name } } }", "__schema"), ("{ __type(name: \"Task\") { name } }", "__type")] {
            let r = app.gql(None, q, json!({})).await;
            assert!(r.data().is_null() || r.data()[key].is_null(), "{q}: {}", r.body);
        }
        let r = app.gql(None, "{ taskz }", json!({})).await;
        r.assert_code("GRAPHQL_VALIDATION_FAILED");
        assert!(!r.message().unwrap().contains("Did you mean"), "{}", r.body);
        let sdl = app.client.get(app.url("/schema.graphql")).send().await.unwrap();
        assert_eq!(sdl.status(), 404);
        // Ordinary operations still work.
        app.gql(None, "{ __typename }", json!({})).await.ok();
    }

    async fn more_than_three_password_fields_are_refused_before_any_runs(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.login_ip_max_attempts = 10_000).await;
        app.signup("victim@example.com").await;
        let before = app.services.accounts.passwords().verifications();
        // 50 aliases, and 4 through a fragment spread twice (counted once) plus
        // a direct field: refused whole, no bcrypt at all.
        let fragment = "mutation { ...L a: login(input: {email: \"victim@example.com\", password: \"wrong password\"}) { tokenType } ...L } \
            fragment L on Mutation { b: login(input: {email: \"victim@example.com\", password: \"x\"}) { tokenType } \
            c: login(input: {email: \"victim@example.com\", password: \"y\"}) { tokenType } \
            d: deleteAccount(password: \"z\") }";
        for q in [aliases(50, "victim@example.com", "wrong password"), fragment.to_owned()] {
            let r = app.gql(None, &q, json!({})).await;
            r.assert_code("GRAPHQL_VALIDATION_FAILED");
            assert!(r.body.get("data").is_none(), "{}", r.body);
        }
        // A batch is one request: 2 + 2 is refused too, every item of it.
        let two = aliases(2, "victim@example.com", "wrong password");
        let r = app.client.post(app.url("/graphql")).json(&json!([{ "query": two }, { "query": two }])).send().await.unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        for item in body.as_array().unwrap() {
            assert_eq!(item["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{body}");
        }
        assert_eq!(app.services.accounts.passwords().verifications(), before, "no bcrypt check ran");

        // Three is allowed, and each alias counts against the email's limit.
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.login_email_max_failures = 2).await;
        app.signup("victim@example.com").await;
        let r = app.gql(None, &aliases(3, "victim@example.com", "wrong password"), json!({})).await;
        let codes = codes(&r);
        assert_eq!(codes.iter().filter(|c| *c == "UNAUTHENTICATED").count(), 2, "{}", r.body);
        assert_eq!(codes.iter().filter(|c| *c == "TOO_MANY_REQUESTS").count(), 1, "{}", r.body);
        // While the email is limited even the right password is refused: 429.
        let r = app.gql(None, LOGIN, json!({ "e": "victim@example.com", "p": PASSWORD })).await;
        r.assert_code("TOO_MANY_REQUESTS");
        assert_eq!(r.status, 429);
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!(retry > 0 && retry <= 900, "{retry}");
    }

    async fn aliases_are_bounded_fragments_included(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let many = |n: usize| format!("{{ {} }}", (0..n).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" "));
        app.gql(None, &many(30), json!({})).await.ok();
        let r = app.gql(None, &many(31), json!({})).await;
        r.assert_code("GRAPHQL_VALIDATION_FAILED");
        assert!(r.body.get("data").is_none(), "{}", r.body);
        // 16 aliases in a fragment spread into two fields: 32 as it would run.
        let q = "{ a: me { ...U } b: me { ...U } } fragment U on User { \
                 i0: id i1: id i2: id i3: id i4: id i5: id i6: id i7: id i8: id i9: id i10: id i11: id i12: id i13: id i14: id }";
        app.gql(Some(&s.access), q, json!({})).await.assert_code("GRAPHQL_VALIDATION_FAILED");
        let roomy = TestApp::spawn_with(Backend::Sqlite, |c| c.graphql_max_aliases = 100).await;
        roomy.gql(None, &many(100), json!({})).await.ok();
    }

    async fn fifty_wrong_logins_across_requests_cost_at_most_ten_bcrypt_checks(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.login_ip_max_attempts = 10_000).await;
        app.signup("victim@example.com").await;
        let before = app.services.accounts.passwords().verifications();
        let mut limited = 0;
        // Spellings of one email count as one.
        for i in 0..50 {
            let email = if i % 2 == 0 { "victim@example.com" } else { " VICTIM@example.com" };
            let r = app.gql(None, LOGIN, json!({ "e": email, "p": "wrong password" })).await;
            if r.code() == Some("TOO_MANY_REQUESTS") {
                limited += 1;
                assert_eq!(r.status, 429);
            }
        }
        assert_eq!(limited, 40);
        assert!(app.services.accounts.passwords().verifications() - before <= 10);
    }

    async fn simultaneous_wrong_logins_cannot_slip_under_the_email_limit(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.login_ip_max_attempts = 10_000).await;
        app.signup("victim@example.com").await;
        let tries = (0..60).map(|_| app.gql(None, LOGIN, json!({ "e": "victim@example.com", "p": "wrong password" })));
        let results = futures::future::join_all(tries).await;
        let failed = results.iter().filter(|r| r.code() == Some("UNAUTHENTICATED")).count();
        let limited = results.iter().filter(|r| r.code() == Some("TOO_MANY_REQUESTS")).count();
        assert_eq!((failed, limited), (10, 50), "at most 10 guesses, however they are timed");
    }

    async fn a_successful_login_resets_the_email_count(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.login_email_max_failures = 3).await;
        app.signup("alice@example.com").await;
        for _ in 0..2 {
            for _ in 0..2 {
                app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": "wrong password" })).await.assert_code("UNAUTHENTICATED");
            }
            app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": PASSWORD })).await.ok();
        }
        for _ in 0..3 {
            app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": "wrong password" })).await.assert_code("UNAUTHENTICATED");
        }
        app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": PASSWORD })).await.assert_code("TOO_MANY_REQUESTS");
    }

    async fn login_attempts_are_limited_per_client_address(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.login_ip_max_attempts = 5).await;
        for i in 0..5 {
            let r = app.gql(None, LOGIN, json!({ "e": format!("u{i}@example.com"), "p": "wrong password" })).await;
            r.assert_code("UNAUTHENTICATED");
        }
        let r = app.gql(None, LOGIN, json!({ "e": "fresh@example.com", "p": "wrong password" })).await;
        r.assert_code("TOO_MANY_REQUESTS");
        assert_eq!(r.status, 429);
        // A forged X-Forwarded-For does not buy a new budget by default.
        let r = app.client.post(app.url("/graphql")).header("x-forwarded-for", "203.0.113.9")
            .json(&json!({ "query": LOGIN, "variables": { "e": "x@example.com", "p": "wrong password" } })).send().await.unwrap();
        assert_eq!(Gql::from(r).await.code(), Some("TOO_MANY_REQUESTS"));
    }

    async fn behind_a_trusted_proxy_each_forwarded_address_has_its_own_budget(b: Backend) {
        let app = TestApp::spawn_with(b, |c| { c.signup_ip_max = 1; c.trust_proxy_headers = true; }).await;
        let signup = |email: &'static str, xff: &'static str| {
            let req = app.client.post(app.url("/graphql")).header("x-forwarded-for", xff).json(&json!({
                "query": "mutation($e: String!) { signup(input: {email: $e, password: \"correct horse battery\"}) { accessToken } }",
                "variables": { "e": email } }));
            async move { Gql::from(req.send().await.unwrap()).await }
        };
        signup("a@example.com", "198.51.100.1").await.ok();
        signup("b@example.com", "198.51.100.1").await.assert_code("TOO_MANY_REQUESTS");
        // The proxy appends the real client last; earlier entries are the client's claim.
        signup("c@example.com", "198.51.100.1, 198.51.100.2").await.ok();
    }

    async fn signups_are_limited_per_client_address(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.signup_ip_max = 3).await;
        for i in 0..3 {
            app.signup(&format!("s{i}@example.com")).await;
        }
        let r = app.gql(None, "mutation { signup(input: {email: \"s3@example.com\", password: \"correct horse battery\"}) { accessToken } }", json!({})).await;
        r.assert_code("TOO_MANY_REQUESTS");
        assert_eq!(r.status, 429);
        assert!(r.header("retry-after").is_some());
        assert!(r.body["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() > 0);
        // Nothing was created.
        app.gql(None, LOGIN, json!({ "e": "s3@example.com", "p": PASSWORD })).await.assert_code("UNAUTHENTICATED");
    }
}
