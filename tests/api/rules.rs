//! CONTRACT §10: a rule on every field, printed in the SDL, and every
//! caller held to it. The rules are read from the SDL the server serves;
//! the probes are generated from its introspection, so a field added later
//! adds its rows by itself.

use std::collections::BTreeMap;

use async_graphql::parser::types::{ConstDirective, TypeKind, TypeSystemDefinition};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::both_backends;
use crate::external::{self, Issuer};
use crate::guard::{leaf, sample, type_name, INTROSPECT};
use crate::helpers::{Session, TestApp, SECRET};

/// A field's rule as the SDL shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Public,
    SignedIn,
    /// Outer: any of; inner: all of.
    Scopes(Vec<Vec<String>>),
}

fn rule_of(directives: &[async_graphql::Positioned<ConstDirective>]) -> Vec<Rule> {
    directives
        .iter()
        .filter_map(|d| match d.node.name.node.as_str() {
            "authenticated" => Some(Rule::SignedIn),
            "requiresScopes" => {
                let arg = d.node.get_argument("scopes").expect("scopes argument");
                let list: Vec<Vec<String>> = serde_json::from_value(arg.node.clone().into_json().unwrap()).unwrap();
                Some(Rule::Scopes(list))
            }
            _ => None,
        })
        .collect()
}

/// Every field of every object type with its effective rule: the field's
/// own directive, else its type's, else public. Panics on a field with more
/// than one.
fn rules(sdl: &str) -> BTreeMap<(String, String), Rule> {
    let doc = async_graphql::parser::parse_schema(sdl).unwrap();
    let mut out = BTreeMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else { continue };
        let ty = ty.node;
        let TypeKind::Object(object) = ty.kind else { continue };
        let type_rule = rule_of(&ty.directives);
        assert!(type_rule.len() <= 1, "type {} has {} rules", ty.name.node, type_rule.len());
        for field in object.fields {
            let own = rule_of(&field.node.directives);
            assert!(own.len() <= 1, "{}.{} has {} rules", ty.name.node, field.node.name.node, own.len());
            let rule = own.into_iter().next().or_else(|| type_rule.first().cloned()).unwrap_or(Rule::Public);
            out.insert((ty.name.node.to_string(), field.node.name.node.to_string()), rule);
        }
    }
    out
}

fn scopes(list: &[&str]) -> Rule {
    Rule::Scopes(vec![list.iter().map(|s| s.to_string()).collect()])
}

#[test]
fn every_field_of_every_object_type_has_exactly_the_rule_of_the_contract() {
    let all = rules(&todo_graphql::graphql::sdl());
    let public: Vec<_> =
        all.iter().filter(|(_, r)| **r == Rule::Public).map(|((t, f), _)| format!("{t}.{f}")).collect();
    let auth_payload =
        ["accessToken", "expiresIn", "refreshToken", "tokenType", "user"].map(|f| format!("AuthPayload.{f}"));
    let mut want: Vec<String> =
        ["Mutation.login", "Mutation.refreshToken", "Mutation.signup"].map(String::from).to_vec();
    want.extend(auth_payload);
    want.sort();
    let mut got = public.clone();
    got.sort();
    assert_eq!(got, want, "the public set is exactly §10's");
    let table = [
        ("tasks:read", &["Query.task", "Query.tasks", "Subscription.taskEvents"][..]),
        (
            "tasks:write",
            &["Mutation.createTask", "Mutation.updateTask", "Mutation.setTaskCompleted", "Mutation.deleteTask"][..],
        ),
        ("profile:read", &["User.email", "User.name"][..]),
        (
            "account",
            &[
                "Mutation.logout",
                "Mutation.changePassword",
                "Mutation.deleteAccount",
                "Query.apiTokens",
                "Mutation.createApiToken",
                "Mutation.revokeApiToken",
            ][..],
        ),
    ];
    for (scope, fields) in table {
        for f in fields {
            let (t, n) = f.split_once('.').unwrap();
            assert_eq!(all[&(t.to_owned(), n.to_owned())], scopes(&[scope]), "{f}");
        }
        let holders: Vec<_> =
            all.iter().filter(|(_, r)| **r == scopes(&[scope])).map(|((t, f), _)| format!("{t}.{f}")).collect();
        assert_eq!(holders.len(), fields.len(), "{scope} is required by exactly {fields:?}: {holders:?}");
    }
    for f in [
        "Query.me",
        "User.id",
        "User.createdAt",
        "Task.title",
        "TaskConnection.edges",
        "TaskEvent.task",
        "PageInfo.endCursor",
    ] {
        let (t, n) = f.split_once('.').unwrap();
        assert_eq!(all[&(t.to_owned(), n.to_owned())], Rule::SignedIn, "{f}");
    }
}

/// Who asks, and which scopes they hold.
struct Caller {
    label: String,
    token: Option<String>,
    scopes: Option<Vec<&'static str>>,
}

const ALL: [&str; 4] = ["tasks:read", "tasks:write", "profile:read", "account"];

/// An own access token with a `scope` claim (as another service holding
/// the secret would mint), at the user's current token version.
fn scoped(s: &Session, scope: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({ "iss": "todo-graphql", "aud": "todo-graphql", "sub": s.user_id, "iat": now, "nbf": now,
        "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(), "ver": 0, "scope": scope });
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

/// One probe: a document that asks exactly one field, and the path of it.
struct Probe {
    field: (String, String),
    op: &'static str,
    doc: String,
    variables: Value,
    path: Value,
}

fn probes(schema: &Value) -> Vec<Probe> {
    let types = schema["types"].as_array().unwrap().clone();
    let mut out = Vec::new();
    for (root, op) in [("subscriptionType", "subscription"), ("queryType", "query"), ("mutationType", "mutation")] {
        let Some(root_name) = schema[root]["name"].as_str() else { continue };
        let def = types.iter().find(|t| t["name"] == root_name).unwrap();
        for field in def["fields"].as_array().unwrap() {
            let name = field["name"].as_str().unwrap();
            let (mut decls, mut args, mut vars) = (Vec::new(), Vec::new(), serde_json::Map::new());
            for a in field["args"].as_array().unwrap() {
                if a["type"]["kind"] != "NON_NULL" {
                    continue;
                }
                let an = a["name"].as_str().unwrap();
                decls.push(format!("${an}: {}", type_name(&a["type"])));
                args.push(format!("{an}: ${an}"));
                vars.insert(an.into(), sample(&a["type"], &types));
            }
            let selection = if leaf(&field["type"]) { "" } else { "{ __typename }" };
            let decls = if decls.is_empty() { String::new() } else { format!("({})", decls.join(", ")) };
            let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
            out.push(Probe {
                field: (root_name.to_owned(), name.to_owned()),
                op,
                doc: format!("{op} Probe{decls} {{ {name}{args} {selection} }}"),
                variables: Value::Object(vars),
                path: json!([name]),
            });
        }
    }
    // The fields of `User` below `me`.
    let user = types.iter().find(|t| t["name"] == "User").unwrap();
    for field in user["fields"].as_array().unwrap() {
        let name = field["name"].as_str().unwrap();
        out.push(Probe {
            field: ("User".into(), name.to_owned()),
            op: "query",
            doc: format!("query Probe {{ me {{ {name} }} }}"),
            variables: json!({}),
            path: json!(["me", name]),
        });
    }
    // `logout` last: it ends the sessions the socket probes need.
    out.sort_by_key(|p| p.field.1 == "logout");
    out
}

/// What became of a probe: refused anonymously, refused for scope (with
/// the rule it named), or let through to its resolver.
#[derive(Debug, PartialEq)]
enum Seen {
    Unauthenticated,
    Forbidden(Value),
    Allowed,
}

async fn ask(app: &TestApp, caller: &Caller, probe: &Probe) -> Seen {
    let errors = if probe.op == "subscription" {
        let mut ws = crate::ws::Ws::connect(app, caller.token.as_deref()).await;
        ws.send(
            json!({ "type": "subscribe", "id": "p", "payload": { "query": probe.doc, "variables": probe.variables } }),
        )
        .await;
        match ws.within(std::time::Duration::from_millis(500)).await {
            crate::ws::Frame::Json(v) if v["type"] == "next" => v["payload"]["errors"].clone(),
            crate::ws::Frame::Json(v) if v["type"] == "error" => v["payload"].clone(),
            // A live subscription sends nothing until an event: let through.
            crate::ws::Frame::Silence => Value::Null,
            other => panic!("{}: {other:?}", caller.label),
        }
    } else {
        let r = app.gql(caller.token.as_deref(), &probe.doc, probe.variables.clone()).await;
        if let Some(e) = r.body["errors"].as_array().and_then(|e| e.iter().find(|e| e["path"] == probe.path)) {
            if e["extensions"]["code"] == "UNAUTHENTICATED" && caller.token.is_none() && r.body["data"].is_null() {
                assert_eq!(r.status, 401, "{}", r.body);
                assert_eq!(r.header("www-authenticate"), Some("Bearer"));
            }
            if e["extensions"]["code"] == "FORBIDDEN" && r.body["data"].is_null() {
                assert_eq!(r.status, 403, "{}: {}", caller.label, r.body);
                let challenge = r.header("www-authenticate").unwrap_or_default().to_owned();
                assert!(challenge.starts_with("Bearer error=\"insufficient_scope\", scope=\""), "{challenge}");
            }
        }
        r.body["errors"].clone()
    };
    // The probed field's error, or one of a field above it (`me` refused
    // before `me { email }` is asked).
    let within = |e: &&Value| match (e["path"].as_array(), probe.path.as_array()) {
        (Some(p), Some(want)) => want.starts_with(p),
        _ => true,
    };
    let mine = errors.as_array().into_iter().flatten().find(within);
    match mine {
        Some(e) if e["extensions"]["code"] == "UNAUTHENTICATED" && e["message"] == "Authentication required" => {
            Seen::Unauthenticated
        }
        Some(e) if e["extensions"]["code"] == "FORBIDDEN" => Seen::Forbidden(e["extensions"]["requiredScopes"].clone()),
        _ => Seen::Allowed,
    }
}

fn expected(rule: &Rule, caller: &Caller) -> Seen {
    match (rule, &caller.scopes) {
        (Rule::Public, _) => Seen::Allowed,
        (_, None) => Seen::Unauthenticated,
        (Rule::SignedIn, Some(_)) => Seen::Allowed,
        (Rule::Scopes(any), Some(held)) => {
            if any.iter().any(|all| all.iter().all(|s| held.contains(&s.as_str()))) {
                Seen::Allowed
            } else {
                Seen::Forbidden(json!(any))
            }
        }
    }
}

both_backends! {
    async fn every_field_answers_every_kind_of_caller_as_its_rule_says(b: Backend) {
        let issuer = Issuer::start(&external::all_keys()).await;
        let app = external::app_for(b, &issuer).await;
        let s = app.signup("alice@example.com").await;
        let key = &external::all_keys()[0];
        let mut with_claim = external::claims("ext-scoped", "scoped@example.com");
        with_claim["scope"] = json!("tasks:read openid");
        let mut array_claim = external::claims("ext-array", "array@example.com");
        array_claim["scope"] = json!(["profile:read"]);
        let mut callers = vec![
            Caller { label: "anonymous".into(), token: None, scopes: None },
            Caller { label: "session".into(), token: Some(s.access.clone()), scopes: Some(ALL.to_vec()) },
            Caller {
                label: "external, no scope claim".into(),
                token: Some(external::sign(key, &external::claims("ext-plain", "plain@example.com"))),
                scopes: Some(ALL.to_vec()),
            },
            Caller { label: "external, scope \"tasks:read openid\"".into(), token: Some(external::sign(key, &with_claim)), scopes: Some(vec!["tasks:read"]) },
            Caller { label: "external, scope [\"profile:read\"]".into(), token: Some(external::sign(key, &array_claim)), scopes: Some(vec!["profile:read"]) },
        ];
        for scope in ALL {
            callers.push(Caller { label: format!("own token, scope {scope}"), token: Some(scoped(&s, scope)), scopes: Some(vec![scope]) });
        }
        for (api_scope, scope) in [("TASKS_READ", "tasks:read"), ("TASKS_WRITE", "tasks:write"), ("PROFILE_READ", "profile:read")] {
            let (secret, _) = crate::api_tokens::make(&app, &s, api_scope, &[api_scope]).await;
            callers.push(Caller { label: format!("API token, {api_scope}"), token: Some(secret), scopes: Some(vec![scope]) });
        }
        let schema = app.gql(None, INTROSPECT, json!({})).await.ok()["__schema"].clone();
        let sdl = app.client.get(app.url("/schema.graphql")).send().await.unwrap().text().await.unwrap();
        let rules = rules(&sdl);
        let mut rows = 0;
        for probe in probes(&schema) {
            let rule = rules.get(&probe.field).unwrap_or_else(|| panic!("{:?} has no rule in the SDL", probe.field));
            for caller in &callers {
                let seen = ask(&app, caller, &probe).await;
                assert_eq!(seen, expected(rule, caller), "{}.{} asked by {} ({rule:?}): {}", probe.field.0, probe.field.1, caller.label, probe.doc);
                rows += 1;
            }
        }
        assert!(rows >= 16 * callers.len(), "{rows} rows");
        issuer.stop();
    }

    async fn a_refused_nested_field_is_nulled_as_the_specification_says(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let reader = scoped(&s, "tasks:read");
        // `name` (nullable) refused: it is null, `me` stays.
        let r = app.gql(Some(&reader), "{ me { id name } }", json!({})).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["data"], json!({ "me": { "id": s.user_id, "name": null } }), "{}", r.body);
        assert_eq!(r.body["errors"][0]["path"], json!(["me", "name"]));
        assert_eq!(r.body["errors"][0]["extensions"]["requiredScopes"], json!([["profile:read"]]));
        // `email` (non-null) refused: `me` is non-null too, so `data` is null: 403.
        let r = app.gql(Some(&reader), "{ me { id email } }", json!({})).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.as_object().unwrap().contains_key("data") && r.body["data"].is_null(), "{}", r.body);
        assert_eq!(r.header("www-authenticate"), Some("Bearer error=\"insufficient_scope\", scope=\"profile:read\""));
        // Beside a field that may be read, the refused one is null and the status 200.
        let r = app.gql(Some(&reader), "{ tasks { totalCount } me { name } }", json!({})).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["data"], json!({ "tasks": { "totalCount": 0 }, "me": { "name": null } }), "{}", r.body);
        // `login { user { email } }` reads the user with the new session's rights.
        let r = app.gql(None, "mutation { login(input: {email: \"alice@example.com\", password: \"correct horse battery\"}) { user { email name } } }", json!({})).await;
        assert_eq!(r.ok()["login"]["user"]["email"], "alice@example.com");
        // And over the socket, the same shapes.
        let mut ws = crate::ws::Ws::connect(&app, Some(&reader)).await;
        ws.subscribe("1", "{ me { id name } }").await;
        assert_eq!(ws.event("1").await["data"], json!({ "me": { "id": s.user_id, "name": null } }));
        ws.subscribe("2", "mutation { createTask(input: {title: \"x\"}) { id } }").await;
        let payload = ws.event("2").await;
        assert_eq!(payload["errors"][0]["extensions"]["code"], "FORBIDDEN", "{payload}");
        assert!(payload["data"].is_null());
    }
}
