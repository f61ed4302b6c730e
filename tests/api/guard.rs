//! Deny by default (CONTRACT §4): a walk over the schema proves every
//! root field that is not public refuses an anonymous caller, so a field
//! added later without thought fails here.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;

/// The public list of CONTRACT §4; anything else must be guarded.
const PUBLIC: &[(&str, &str)] = &[("Mutation", "signup"), ("Mutation", "login"), ("Mutation", "refreshToken")];

pub(crate) const INTROSPECT: &str = r#"{ __schema {
  queryType { name } mutationType { name } subscriptionType { name }
  types { name kind
    fields { name args { name type { ...T } } type { ...T } }
    inputFields { name type { ...T } }
    enumValues { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"#;

/// A value for a required argument of type `ty`.
pub(crate) fn sample(ty: &Value, types: &[Value]) -> Value {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => sample(&ty["ofType"], types),
        "LIST" => json!([sample(&ty["ofType"], types)]),
        _ => {
            let name = ty["name"].as_str().unwrap();
            let def = types.iter().find(|t| t["name"] == name).unwrap();
            match (def["kind"].as_str().unwrap(), name) {
                ("SCALAR", "ID") => json!(uuid::Uuid::new_v4().to_string()),
                ("SCALAR", "Int") => json!(1),
                ("SCALAR", "Float") => json!(1.0),
                ("SCALAR", "Boolean") => json!(true),
                ("SCALAR", "DateTime") => json!("2026-01-01T00:00:00.000Z"),
                ("SCALAR", _) => json!("password123"),
                ("ENUM", _) => def["enumValues"][0]["name"].clone(),
                ("INPUT_OBJECT", _) => {
                    let mut obj = serde_json::Map::new();
                    for f in def["inputFields"].as_array().unwrap() {
                        if f["type"]["kind"] == "NON_NULL" {
                            obj.insert(f["name"].as_str().unwrap().into(), sample(&f["type"], types));
                        }
                    }
                    Value::Object(obj)
                }
                other => panic!("unexpected argument type {other:?}"),
            }
        }
    }
}

pub(crate) fn type_name(ty: &Value) -> String {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", type_name(&ty["ofType"])),
        "LIST" => format!("[{}]", type_name(&ty["ofType"])),
        _ => ty["name"].as_str().unwrap().to_owned(),
    }
}

pub(crate) fn leaf(ty: &Value) -> bool {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" | "LIST" => leaf(&ty["ofType"]),
        "SCALAR" | "ENUM" => true,
        _ => false,
    }
}

both_backends! {
    async fn every_non_public_root_field_refuses_an_anonymous_caller(b: Backend) {
        let app = TestApp::spawn(b).await;
        let schema = app.gql(None, INTROSPECT, json!({})).await;
        let schema = schema.ok()["__schema"].clone();
        let types = schema["types"].as_array().unwrap().clone();
        let mut checked = 0;
        for root in ["queryType", "mutationType", "subscriptionType"] {
            let Some(root_name) = schema[root]["name"].as_str() else { continue };
            let def = types.iter().find(|t| t["name"] == root_name).unwrap();
            let op = match root {
                "queryType" => "query",
                "mutationType" => "mutation",
                _ => "subscription",
            };
            for field in def["fields"].as_array().unwrap() {
                let name = field["name"].as_str().unwrap();
                if PUBLIC.contains(&(root_name, name)) {
                    continue;
                }
                let mut decls = Vec::new();
                let mut args = Vec::new();
                let mut vars = serde_json::Map::new();
                for a in field["args"].as_array().unwrap() {
                    if a["type"]["kind"] != "NON_NULL" { continue; }
                    let an = a["name"].as_str().unwrap();
                    decls.push(format!("${an}: {}", type_name(&a["type"])));
                    args.push(format!("{an}: ${an}"));
                    vars.insert(an.into(), sample(&a["type"], &types));
                }
                let selection = if leaf(&field["type"]) { "" } else { "{ __typename }" };
                let decls = if decls.is_empty() { String::new() } else { format!("({})", decls.join(", ")) };
                let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
                let doc = format!("{op} Probe{decls} {{ {name}{args} {selection} }}");
                if op == "subscription" {
                    // Subscriptions run over the WebSocket door.
                    let mut ws = crate::ws::Ws::connect(&app, None).await;
                    ws.send(json!({ "type": "subscribe", "id": "p", "payload": { "query": doc, "variables": vars } })).await;
                    let reply = loop {
                        match ws.next().await {
                            crate::ws::Frame::Json(v) if v["type"] == "next" => break v["payload"]["errors"].clone(),
                            crate::ws::Frame::Json(v) if v["type"] == "error" => break v["payload"].clone(),
                            crate::ws::Frame::Json(_) => continue,
                            other => panic!("{root_name}.{name}: {other:?}"),
                        }
                    };
                    assert_eq!(reply[0]["extensions"]["code"], "UNAUTHENTICATED", "{root_name}.{name} must be guarded: {reply}");
                    checked += 1;
                    continue;
                }
                let r = app.gql(None, &doc, Value::Object(vars)).await;
                assert_eq!(r.code(), Some("UNAUTHENTICATED"), "{root_name}.{name} must be guarded: {doc} -> {}", r.body);
                assert_eq!(r.status, 401, "{root_name}.{name}");
                assert_eq!(r.header("www-authenticate"), Some("Bearer"));
                checked += 1;
            }
        }
        assert!(checked >= 11, "walked {checked} guarded fields");
    }

    async fn public_fields_and_introspection_work_anonymously(b: Backend) {
        let app = TestApp::spawn(b).await;
        let r = app.gql(None, "{ __typename __schema { queryType { name } } }", json!({})).await;
        assert_eq!(r.ok()["__typename"], "Query");
        let r = app.gql(None, "mutation { __typename }", json!({})).await;
        assert_eq!(r.ok()["__typename"], "Mutation");
    }

    async fn the_password_hash_is_nowhere_in_the_schema(b: Backend) {
        let app = TestApp::spawn(b).await;
        let schema = app.gql(None, INTROSPECT, json!({})).await;
        for t in schema.ok()["__schema"]["types"].as_array().unwrap() {
            // Output types only: inputs and the arguments of mutations take passwords.
            if t["kind"] != "OBJECT" || t["name"] == "Mutation" || t["name"].as_str().unwrap().starts_with("__") {
                continue;
            }
            for f in t["fields"].as_array().into_iter().flatten() {
                let name = f["name"].as_str().unwrap().to_lowercase();
                assert!(!name.contains("hash") && !name.contains("password"), "{}.{} exposed", t["name"], f["name"]);
            }
        }
    }
}
