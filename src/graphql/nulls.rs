//! The specification's null propagation (§6.4.4 "Handling Field Errors")
//! applied to an executed response. async-graphql drops an errored field's
//! key and turns an object whose every field errored into `null`; strict
//! clients (Apollo iOS/Kotlin, urql's Graphcache, Relay) need the key
//! present: `null` at a nullable field, or at the nearest nullable parent
//! of a non-null one, and `data: null` when there is none.
//!
//! Only the paths of errors are walked, so an answer without errors costs
//! nothing here.

use async_graphql::parser::types::{BaseType, Field, Selection, SelectionSet, Type};
use async_graphql::{Name, PathSegment, Response, Value};

use super::document_guard::Prepared;
use super::shape::{innermost, typename, Shape};

/// Places every errored field of `response` as the specification says.
pub fn propagate(response: &mut Response, prepared: &Prepared, shape: &Shape) {
    if response.errors.iter().all(|e| e.path.is_empty()) {
        return;
    }
    let Some(operation) = prepared.operation() else { return };
    let Some(root) = shape.root(operation.node.ty) else { return };
    let mut targets: Vec<Target> = response
        .errors
        .iter()
        .filter(|e| !e.path.is_empty())
        .map(|e| target(&e.path, &operation.node.selection_set.node, root, prepared, shape))
        .collect();
    // Shallow first: a target inside an already nulled one changes nothing.
    targets.sort_by_key(|t| t.path.len());
    let mut done: Vec<Vec<PathSegment>> = Vec::new();
    for t in targets {
        if done.iter().any(|d| t.path.starts_with(d)) {
            continue;
        }
        if t.path.is_empty() {
            response.data = Value::Null;
            return;
        }
        apply(&mut response.data, &t);
        done.push(t.path);
    }
}

/// Where one error's `null` lands, and the key order of each object on
/// the way (the selection's order, which async-graphql's appends break).
struct Target {
    path: Vec<PathSegment>,
    orders: Vec<Vec<Name>>,
}

/// The deepest nullable position on `path` (the errored field itself when
/// nullable), by the declared types along it; unknown types count as
/// nullable, so an error is never propagated further than it must.
fn target(path: &[PathSegment], root_set: &SelectionSet, root: &str, prepared: &Prepared, shape: &Shape) -> Target {
    let mut sets: Vec<&SelectionSet> = vec![root_set];
    let mut parent: Option<String> = Some(root.to_owned());
    let mut ty: Option<Type> = None;
    let mut nullable = Vec::with_capacity(path.len());
    let mut orders = Vec::with_capacity(path.len());
    for segment in path {
        match segment {
            PathSegment::Field(key) => {
                let mut fields = Vec::new();
                for set in &sets {
                    collect(set, prepared, &mut Vec::new(), &mut fields);
                }
                let mut order: Vec<Name> = Vec::new();
                for f in &fields {
                    let k = &f.response_key().node;
                    if !order.contains(k) {
                        order.push(k.clone());
                    }
                }
                orders.push(order);
                let matching: Vec<&Field> =
                    fields.into_iter().filter(|f| f.response_key().node.as_str() == key).collect();
                ty = match matching.first().map(|f| f.name.node.as_str()) {
                    Some("__typename") => Some(typename()),
                    Some(name) => parent.as_deref().and_then(|p| shape.field(p, name)).cloned(),
                    None => None,
                };
                parent = ty.as_ref().map(|t| innermost(t).to_owned());
                sets = matching.iter().map(|f| &f.selection_set.node).collect();
            }
            PathSegment::Index(_) => {
                orders.push(Vec::new());
                ty = ty.and_then(|t| match t.base {
                    BaseType::List(inner) => Some(*inner),
                    BaseType::Named(_) => None,
                });
            }
        }
        nullable.push(ty.as_ref().is_none_or(|t| t.nullable));
    }
    let keep = nullable.iter().rposition(|n| *n).map_or(0, |i| i + 1);
    orders.truncate(keep);
    Target { path: path[..keep].to_vec(), orders }
}

/// The fields a selection set collects, through fragments (each once).
fn collect<'a>(set: &'a SelectionSet, prepared: &'a Prepared, visited: &mut Vec<&'a str>, out: &mut Vec<&'a Field>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(&f.node),
            Selection::InlineFragment(i) => collect(&i.node.selection_set.node, prepared, visited, out),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                if visited.contains(&name) {
                    continue;
                }
                visited.push(name);
                if let Some(fragment) = prepared.fragment(name) {
                    collect(&fragment.node.selection_set.node, prepared, visited, out);
                }
            }
        }
    }
}

/// Sets `null` at the target, making the objects on the way that
/// async-graphql emptied to `null` (an error below one proves it resolved).
fn apply(data: &mut Value, target: &Target) {
    let mut current = data;
    let last = target.path.len() - 1;
    for (i, segment) in target.path.iter().enumerate() {
        match segment {
            PathSegment::Field(key) => {
                if !matches!(current, Value::Object(_)) {
                    *current = Value::Object(Default::default());
                }
                let Value::Object(map) = current else { return };
                let key = Name::new(key);
                if !map.contains_key(&key) {
                    map.insert(key.clone(), Value::Null);
                    let order = &target.orders[i];
                    map.sort_by(|a, _, b, _| {
                        let at = |k: &Name| order.iter().position(|o| o == k).unwrap_or(usize::MAX);
                        at(a).cmp(&at(b))
                    });
                }
                let Some(value) = map.get_mut(&key) else { return };
                if i == last {
                    *value = Value::Null;
                    return;
                }
                current = value;
            }
            PathSegment::Index(index) => {
                let Value::List(items) = current else { return };
                let Some(item) = items.get_mut(*index) else { return };
                if i == last {
                    *item = Value::Null;
                    return;
                }
                current = item;
            }
        }
    }
}

// Unit tests only (never a request path): their inputs are literals, so an
// unwrap failing is the test failing.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use async_graphql::ServerError;

    fn run(query: &str, data: serde_json::Value, paths: &[&[PathSegment]]) -> serde_json::Value {
        let shape = Shape::from_sdl(&crate::graphql::sdl());
        let document = std::sync::Arc::new(async_graphql::parser::parse_query(query).unwrap());
        let prepared = Prepared { cost: Default::default(), document, operation_name: None };
        let mut response = Response::new(Value::from_json(data).unwrap());
        response.errors =
            paths.iter().map(|p| ServerError { path: p.to_vec(), ..ServerError::new("boom", None) }).collect();
        propagate(&mut response, &prepared, &shape);
        response.data.into_json().unwrap()
    }

    fn f(key: &str) -> PathSegment {
        PathSegment::Field(key.into())
    }

    #[test]
    fn a_nullable_field_keeps_its_key_in_selection_order() {
        let q = "{ a: task(id: \"1\") { id } b: task(id: \"2\") { id } me { id } }";
        let out = run(q, serde_json::json!({ "a": { "id": "1" }, "me": { "id": "u" } }), &[&[f("b")]]);
        assert_eq!(out.to_string(), r#"{"a":{"id":"1"},"b":null,"me":{"id":"u"}}"#);
        assert_eq!(run(q, serde_json::Value::Null, &[&[f("a")], &[f("b")], &[f("me")]]), serde_json::Value::Null);
        let lone = run("{ task(id: \"x\") { id } }", serde_json::Value::Null, &[&[f("task")]]);
        assert_eq!(lone, serde_json::json!({ "task": null }));
    }

    #[test]
    fn a_non_null_error_nulls_the_nearest_nullable_parent() {
        // name: String (nullable) inside me: User! — the object is rebuilt.
        let out = run("{ me { name } }", serde_json::Value::Null, &[&[f("me"), f("name")]]);
        assert_eq!(out, serde_json::json!({ "me": { "name": null } }));
        // email: String! inside me: User! — up to data.
        assert_eq!(
            run("{ me { id email } }", serde_json::json!({ "me": { "id": "u" } }), &[&[f("me"), f("email")]]),
            serde_json::Value::Null
        );
        // Through a list of non-null items and a fragment: up to `task`, a nullable root field.
        let q = "{ t: task(id: \"1\") { ...T } me { id } } fragment T on Task { id title }";
        let out = run(q, serde_json::json!({ "t": { "id": "1" }, "me": { "id": "u" } }), &[&[f("t"), f("title")]]);
        assert_eq!(out, serde_json::json!({ "t": null, "me": { "id": "u" } }));
        let q = "{ tasks { edges { node { title } } } }";
        let data = serde_json::json!({ "tasks": { "edges": [{ "node": { "title": "a" } }, { "node": null }] } });
        let path = [f("tasks"), f("edges"), PathSegment::Index(1), f("node"), f("title")];
        assert_eq!(run(q, data, &[&path]), serde_json::Value::Null);
    }

    #[test]
    fn subscription_payloads_and_nullable_children_follow_the_same_rule() {
        let q = "subscription { taskEvents { kind task { id } } }";
        let data = serde_json::json!({ "taskEvents": { "kind": "CREATED" } });
        let out = run(q, data, &[&[f("taskEvents"), f("task")]]);
        assert_eq!(out, serde_json::json!({ "taskEvents": { "kind": "CREATED", "task": null } }));
    }
}
