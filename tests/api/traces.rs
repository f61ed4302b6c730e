//! CONTRACT §12 traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans go
//! out over OTLP/HTTP; an incoming `traceparent` is continued; the tree is
//! HTTP → GraphQL operation → database statements; no attribute holds a
//! token, a password or GraphQL variables. The server is the real binary,
//! the collector a small OTLP/HTTP receiver decoding with
//! `opentelemetry-proto`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::json;

use crate::helpers::{post_gql, ServerProcess, PASSWORD};

type Spans = Arc<Mutex<Vec<(String, Span)>>>;

/// An OTLP/HTTP receiver on port 0: every span it gets, with its service name.
async fn receiver() -> (String, Spans) {
    let spans: Spans = Arc::default();
    let sink = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|kv| kv.key == "service.name")
                        .and_then(|kv| kv.value.as_ref())
                        .map(|v| format!("{:?}", v.value))
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            sink.lock().unwrap().push((service.clone(), span));
                        }
                    }
                }
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, spans)
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()).and_then(|v| match &v.value {
        Some(AnyValue::StringValue(s)) => Some(s.clone()),
        Some(AnyValue::IntValue(i)) => Some(i.to_string()),
        Some(AnyValue::BoolValue(b)) => Some(b.to_string()),
        _ => None,
    })
}

fn every_value(span: &Span) -> Vec<String> {
    let mut values: Vec<String> = span.attributes.iter().map(|kv| format!("{:?}", kv.value)).collect();
    values.push(span.name.clone());
    for event in &span.events {
        values.push(event.name.clone());
        values.extend(event.attributes.iter().map(|kv| format!("{:?}", kv.value)));
    }
    values
}

#[tokio::test]
async fn spans_continue_the_callers_trace_from_http_through_graphql_to_the_database() {
    let (collector, spans) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let server = ServerProcess::start(
        dir.path(),
        &[
            ("DATABASE_URL", db.as_str()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("RUST_LOG", "info"),
        ],
    );
    let client = reqwest::Client::new();
    let url = server.url("/graphql");
    let signup = post_gql(
        &client,
        &url,
        None,
        "mutation Join($p: String!) { signup(input: { email: \"traced@example.com\", password: $p }) { accessToken } }",
        json!({ "p": PASSWORD }),
    )
    .await;
    let token = signup.ok()["signup"]["accessToken"].as_str().unwrap().to_owned();

    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let parent_id = "b7ad6b7169203331";
    let r = client
        .post(&url)
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{parent_id}-01"))
        .json(&json!({
            "query": "mutation Add($t: String!) { createTask(input: { title: $t }) { id } }",
            "variables": { "t": "variable-secret-title" },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Wait for the tree: the HTTP span, its operation, and statements.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (http, operation, statements) = loop {
        let got = spans.lock().unwrap().clone();
        let in_trace: Vec<&Span> = got.iter().map(|(_, s)| s).filter(|s| hex(&s.trace_id) == trace_id).collect();
        let http = in_trace.iter().find(|s| hex(&s.parent_span_id) == parent_id).copied().cloned();
        let operation = http.as_ref().and_then(|h| {
            in_trace.iter().find(|s| s.parent_span_id == h.span_id && s.name.starts_with("mutation")).copied().cloned()
        });
        let statements: Vec<Span> = operation
            .as_ref()
            .map(|op| {
                in_trace
                    .iter()
                    .filter(|s| descends_from(s, op, &in_trace) && attr(s, "db.system.name").is_some())
                    .map(|s| (*s).clone())
                    .collect()
            })
            .unwrap_or_default();
        if let (Some(http), Some(operation)) = (http, operation) {
            if statements.iter().any(|s| attr(s, "db.operation.name").as_deref() == Some("INSERT")) {
                break (http, operation, statements);
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no complete span tree; got {:#?}",
            got.iter().map(|(_, s)| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    assert_eq!(attr(&http, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(attr(&http, "http.route").as_deref(), Some("/graphql"));
    assert_eq!(attr(&http, "http.response.status_code").as_deref(), Some("200"));
    assert_eq!(http.name, "POST /graphql");
    assert_eq!(http.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(attr(&operation, "graphql.operation.type").as_deref(), Some("mutation"));
    assert_eq!(attr(&operation, "graphql.operation.name").as_deref(), Some("Add"));
    assert_eq!(operation.name, "mutation Add");
    for statement in &statements {
        assert_eq!(attr(statement, "db.system.name").as_deref(), Some("sqlite"));
        assert_eq!(statement.kind, 3, "SPAN_KIND_CLIENT");
        let text = attr(statement, "db.query.text").unwrap();
        assert!(!text.contains("variable-secret-title"), "{text}");
        assert!(statement.start_time_unix_nano <= statement.end_time_unix_nano);
    }

    let all = spans.lock().unwrap().clone();
    assert!(all.iter().all(|(service, _)| service.contains("todo-graphql")), "service.name is todo-graphql");
    assert!(all.iter().any(|(_, s)| s.name == "password.hash"), "a span per password hash");
    for (_, span) in &all {
        for value in every_value(span) {
            for secret in [token.as_str(), PASSWORD, "variable-secret-title"] {
                assert!(!value.contains(secret), "span {} shows {secret:?}: {value}", span.name);
            }
        }
    }
    drop(server);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn descends_from(span: &Span, ancestor: &Span, all: &[&Span]) -> bool {
    let mut parent = span.parent_span_id.clone();
    for _ in 0..32 {
        if parent == ancestor.span_id {
            return true;
        }
        match all.iter().find(|s| s.span_id == parent) {
            Some(p) => parent = p.parent_span_id.clone(),
            None => return false,
        }
    }
    false
}
