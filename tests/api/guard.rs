//! Deny by default (CONTRACT §4): public fields and introspection work
//! anonymously, and the schema holds no secret. The walk over every field
//! and every kind of caller is `rules.rs`, with the helpers here.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;

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
