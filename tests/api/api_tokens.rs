//! API tokens (CONTRACT §10): made once, kept hashed, scoped, bounded,
//! revoked on every door and replica.

use std::time::Duration;

use sea_orm::EntityTrait;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, Gql, Session, TestApp, PASSWORD};
use crate::ws::{Frame, Ws};

const CREATE: &str = "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token apiToken { id name scopes createdAt expiresAt lastUsedAt } } }";
const LIST: &str = "{ apiTokens { id name scopes lastUsedAt } }";

/// Makes a token with `scopes` for `s`; returns (secret, id).
pub async fn make(app: &TestApp, s: &Session, name: &str, scopes: &[&str]) -> (String, String) {
    let r = app.gql(Some(&s.access), CREATE, json!({ "i": { "name": name, "scopes": scopes } })).await;
    let created = &r.ok()["createApiToken"];
    (created["token"].as_str().unwrap().to_owned(), created["apiToken"]["id"].as_str().unwrap().to_owned())
}

async fn create(app: &TestApp, s: &Session, input: Value) -> Gql {
    app.gql(Some(&s.access), CREATE, json!({ "i": input })).await
}

both_backends! {
    async fn a_token_is_shown_once_kept_hashed_and_holds_only_its_scopes(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let task = app.create_task(&s.access, "mine").await;
        let r = create(&app, &s, json!({ "name": "  backup script ", "scopes": ["TASKS_READ"] })).await;
        let created = r.ok()["createApiToken"].clone();
        let secret = created["token"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("tgq_") && secret.len() == 47, "{secret}");
        assert!(secret[4..].chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(created["apiToken"]["name"], "backup script");
        assert_eq!(created["apiToken"]["scopes"], json!(["TASKS_READ"]));
        assert!(created["apiToken"]["lastUsedAt"].is_null());
        let days = (ms(&created["apiToken"]["expiresAt"]) - ms(&created["apiToken"]["createdAt"])) / 86_400_000;
        assert_eq!(days, 90, "90 days by default");
        // Stored as its SHA-256 only.
        let rows = entity::api_token::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].token_hash, hex_sha256(&secret));
        assert!(!format!("{rows:?}").contains(&secret[4..]), "the secret is not stored");
        // Never shown again: the list has no secret.
        let listed = app.gql(Some(&s.access), LIST, json!({})).await;
        assert!(!listed.body.to_string().contains(&secret));

        // It reads tasks, and nothing else.
        let r = app.gql(Some(&secret), "{ tasks { nodes { id } } }", json!({})).await;
        assert_eq!(r.ok()["tasks"]["nodes"][0]["id"], task.as_str());
        let r = app.gql(Some(&secret), "mutation { createTask(input: {title: \"x\"}) { id } }", json!({})).await;
        r.assert_code("FORBIDDEN");
        assert_eq!(r.status, 403);
        assert_eq!(r.header("www-authenticate"), Some("Bearer error=\"insufficient_scope\", scope=\"tasks:write\""));
        assert_eq!(r.body["errors"][0]["extensions"]["requiredScopes"], json!([["tasks:write"]]));
        for q in [LIST, "mutation { logout }", "mutation { revokeApiToken(id: \"00000000-0000-0000-0000-000000000000\") }"] {
            let r = app.gql(Some(&secret), q, json!({})).await;
            r.assert_code("FORBIDDEN");
            assert_eq!(r.body["errors"][0]["extensions"]["requiredScopes"], json!([["account"]]), "{q}");
        }
        let r = create(&app, &s, json!({ "name": "x", "scopes": ["TASKS_READ"] })).await;
        r.ok();
        let r = app.gql(Some(&secret), CREATE, json!({ "i": { "name": "y", "scopes": ["TASKS_READ"] } })).await;
        r.assert_code("FORBIDDEN");
        // `me` works (signed in), its email needs profile:read.
        let r = app.gql(Some(&secret), "{ me { id name } }", json!({})).await;
        assert_eq!(r.body["data"]["me"], json!({ "id": s.user_id, "name": null }));
        r.assert_code("FORBIDDEN");
        // An unknown or malformed token is the 401 of §5.
        for bad in ["tgq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "tgq_short", &format!("{secret}x")] {
            let r = app.gql(Some(bad), "{ __typename }", json!({})).await;
            assert_eq!(r.status, 401, "{bad}");
            assert_eq!(r.header("www-authenticate"), Some("Bearer error=\"invalid_token\""));
        }
    }

    async fn bad_input_is_refused_with_its_field(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        for (input, field) in [
            (json!({ "name": "   ", "scopes": ["TASKS_READ"] }), "name"),
            (json!({ "name": "n".repeat(101), "scopes": ["TASKS_READ"] }), "name"),
            (json!({ "name": "n", "scopes": [] }), "scopes"),
            (json!({ "name": "n", "scopes": ["TASKS_READ", "TASKS_READ"] }), "scopes"),
            (json!({ "name": "n", "scopes": ["TASKS_READ"], "expiresInDays": 0 }), "expiresInDays"),
            (json!({ "name": "n", "scopes": ["TASKS_READ"], "expiresInDays": 366 }), "expiresInDays"),
        ] {
            let r = create(&app, &s, input.clone()).await;
            r.assert_code("BAD_USER_INPUT");
            assert_eq!(r.field(), Some(field), "{input}");
        }
        // `account` is not even a value of ApiScope.
        create(&app, &s, json!({ "name": "n", "scopes": ["ACCOUNT"] })).await.assert_code("GRAPHQL_VALIDATION_FAILED");
        let r = create(&app, &s, json!({ "name": "n".repeat(100), "scopes": ["PROFILE_READ", "TASKS_WRITE"], "expiresInDays": 365 })).await;
        assert_eq!(r.ok()["createApiToken"]["apiToken"]["scopes"], json!(["TASKS_WRITE", "PROFILE_READ"]));
        // At most 50 live tokens; the 51st is refused on `input`.
        for i in 1..50 {
            create(&app, &s, json!({ "name": format!("t{i}"), "scopes": ["TASKS_READ"] })).await.ok();
        }
        let r = create(&app, &s, json!({ "name": "one too many", "scopes": ["TASKS_READ"] })).await;
        r.assert_code("BAD_USER_INPUT");
        assert_eq!(r.field(), Some("input"));
        let listed = app.gql(Some(&s.access), LIST, json!({})).await;
        let names: Vec<_> = listed.ok()["apiTokens"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names.len(), 50);
        assert_eq!(names[0], "t49", "newest first");
        // An expired token no longer counts, and is refused.
        let oldest = listed.ok()["apiTokens"][0]["id"].as_str().unwrap().to_owned();
        expire(&app, &oldest).await;
        let (secret, id) = make(&app, &s, "room again", &["TASKS_READ"]).await;
        expire(&app, &id).await;
        assert_eq!(app.gql(Some(&secret), "{ tasks { totalCount } }", json!({})).await.status, 401);
    }

    async fn revocation_holds_from_the_next_request_and_password_changes_revoke_all(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let other = app.signup("bob@example.com").await;
        let (one, one_id) = make(&app, &s, "one", &["TASKS_READ"]).await;
        let (two, _) = make(&app, &s, "two", &["TASKS_READ"]).await;
        let (bobs, bobs_id) = make(&app, &other, "bob's", &["TASKS_READ"]).await;
        // Someone else's token is not found; a malformed id is bad input.
        let revoke = "mutation($id: ID!) { revokeApiToken(id: $id) }";
        app.gql(Some(&s.access), revoke, json!({ "id": bobs_id })).await.assert_code("NOT_FOUND");
        let r = app.gql(Some(&s.access), revoke, json!({ "id": "nope" })).await;
        r.assert_code("BAD_USER_INPUT");
        assert_eq!(r.field(), Some("id"));
        app.gql(Some(&bobs), "{ tasks { totalCount } }", json!({})).await.ok();
        // Revoked: the very next request is a 401.
        let r = app.gql(Some(&s.access), revoke, json!({ "id": one_id })).await;
        assert_eq!(r.ok()["revokeApiToken"], one_id.as_str());
        let r = app.gql(Some(&one), "{ tasks { totalCount } }", json!({})).await;
        assert_eq!(r.status, 401);
        // Logout ends sessions, not API tokens.
        app.gql(Some(&s.access), "mutation { logout }", json!({})).await.ok();
        app.gql(Some(&two), "{ tasks { totalCount } }", json!({})).await.ok();
        // A new password revokes every token of the user.
        let s = app.gql(None, "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken refreshToken user { id email } } }",
            json!({ "e": "alice@example.com", "p": PASSWORD })).await;
        let s = Session::from_payload(&s.ok()["login"]);
        let change = "mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { accessToken } }";
        app.gql(Some(&s.access), change, json!({ "c": PASSWORD, "n": "another horse battery" })).await.ok();
        assert_eq!(app.gql(Some(&two), "{ tasks { totalCount } }", json!({})).await.status, 401);
        // Deleting the account revokes them too.
        let del = "mutation($p: String!) { deleteAccount(password: $p) }";
        app.gql(Some(&other.access), del, json!({ "p": PASSWORD })).await.ok();
        assert_eq!(app.gql(Some(&bobs), "{ tasks { totalCount } }", json!({})).await.status, 401);
    }

    async fn last_used_at_is_written_at_most_once_a_minute(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let (secret, _) = make(&app, &s, "script", &["TASKS_READ"]).await;
        app.gql(Some(&secret), "{ tasks { totalCount } }", json!({})).await.ok();
        let first = wait_for_last_used(&app, &s).await;
        for _ in 0..5 {
            app.gql(Some(&secret), "{ tasks { totalCount } }", json!({})).await.ok();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let listed = app.gql(Some(&s.access), LIST, json!({})).await;
        assert_eq!(listed.ok()["apiTokens"][0]["lastUsedAt"], first, "not rewritten within a minute");
    }

    async fn sockets_of_a_token_close_when_it_is_revoked_and_scopes_hold_there_too(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let (reader, reader_id) = make(&app, &s, "reader", &["TASKS_READ"]).await;
        let (writer, _) = make(&app, &s, "writer", &["TASKS_WRITE"]).await;
        let mut ws = Ws::connect(&app, Some(&reader)).await;
        ws.task_events("1").await;
        ws.settle().await;
        let mut session = Ws::connect(&app, Some(&s.access)).await;
        let id = app.create_task(&writer, "by the writer").await;
        assert_eq!(ws.event("1").await["data"]["taskEvents"]["taskId"], id.as_str());
        // A token without tasks:read gets FORBIDDEN for taskEvents; the socket lives on.
        let mut w = Ws::connect(&app, Some(&writer)).await;
        w.task_events("e").await;
        let v = w.event("e").await;
        assert_eq!(v["errors"][0]["extensions"]["code"], "FORBIDDEN", "{v}");
        w.subscribe("q", "{ __typename }").await;
        assert_eq!(w.event("q").await["data"]["__typename"], "Query");
        assert_eq!(w.next().await, Frame::Json(json!({ "type": "complete", "id": "q" })));
        // Logout closes session sockets, not the token's.
        app.gql(Some(&s.access), "mutation { logout }", json!({})).await.ok();
        assert_eq!(session.within(Duration::from_secs(1)).await, Frame::Close(4403));
        ws.send(json!({ "type": "ping" })).await;
        assert_eq!(ws.next().await, Frame::Json(json!({ "type": "pong" })));
        // Revoking it closes its socket within a second, and it cannot connect again.
        let fresh = login(&app).await;
        app.gql(Some(&fresh.access), "mutation($id: ID!) { revokeApiToken(id: $id) }", json!({ "id": reader_id })).await.ok();
        assert_eq!(ws.within(Duration::from_secs(1)).await, Frame::Close(4403));
        let mut again = Ws::open(&app, &[]).await.unwrap();
        again.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {reader}") } })).await;
        assert_eq!(again.next().await, Frame::Close(4403));
        // The writer's socket is untouched.
        w.send(json!({ "type": "ping" })).await;
        assert_eq!(w.next().await, Frame::Json(json!({ "type": "pong" })));
    }

    async fn external_users_make_tokens_too(b: Backend) {
        let issuer = crate::external::Issuer::start(&crate::external::all_keys()).await;
        let app = crate::external::app_for(b, &issuer).await;
        let key = &crate::external::all_keys()[0];
        let ext = crate::external::sign(key, &crate::external::claims("ba-user", "ext@example.com"));
        let r = app.gql(Some(&ext), CREATE, json!({ "i": { "name": "ext script", "scopes": ["TASKS_WRITE"] } })).await;
        let secret = r.ok()["createApiToken"]["token"].as_str().unwrap().to_owned();
        let r = app.gql(Some(&secret), "mutation { createTask(input: {title: \"from a script\"}) { title } }", json!({})).await;
        assert_eq!(r.ok()["createTask"]["title"], "from a script");
        let r = app.gql(Some(&ext), "{ tasks { nodes { title } } }", json!({})).await;
        assert_eq!(r.ok()["tasks"]["nodes"][0]["title"], "from a script");
        issuer.stop();
    }
}

#[tokio::test]
async fn a_revocation_on_one_replica_holds_on_the_other_at_once() {
    let Some(b) = Backend::postgres("api_tokens::a_revocation_on_one_replica") else { return };
    let one = TestApp::spawn(b).await;
    let two = TestApp::start(one.config.clone(), tempfile::tempdir().unwrap(), None).await;
    let s = one.signup("alice@example.com").await;
    let (secret, id) = make(&one, &s, "script", &["TASKS_READ"]).await;
    two.gql(Some(&secret), "{ tasks { totalCount } }", json!({})).await.ok();
    let mut ws = Ws::connect(&one, Some(&secret)).await;
    ws.task_events("1").await;
    ws.settle().await;
    two.gql(Some(&s.access), "mutation($id: ID!) { revokeApiToken(id: $id) }", json!({ "id": id })).await.ok();
    assert_eq!(one.gql(Some(&secret), "{ tasks { totalCount } }", json!({})).await.status, 401);
    assert_eq!(two.gql(Some(&secret), "{ tasks { totalCount } }", json!({})).await.status, 401);
    assert_eq!(ws.within(Duration::from_secs(1)).await, Frame::Close(4403));
}

async fn login(app: &TestApp) -> Session {
    let r = app.gql(None, "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken refreshToken user { id email } } }",
        json!({ "e": "alice@example.com", "p": PASSWORD })).await;
    Session::from_payload(&r.ok()["login"])
}

async fn wait_for_last_used(app: &TestApp, s: &Session) -> Value {
    for _ in 0..50 {
        let listed = app.gql(Some(&s.access), LIST, json!({})).await;
        let at = listed.ok()["apiTokens"][0]["lastUsedAt"].clone();
        if !at.is_null() {
            return at;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("lastUsedAt was never written");
}

async fn expire(app: &TestApp, id: &str) {
    use entity::api_token::{Column, Entity};
    use sea_orm::{ColumnTrait, QueryFilter};
    let id: uuid::Uuid = id.parse().unwrap();
    Entity::update_many()
        .col_expr(Column::ExpiresAt, sea_orm::sea_query::Expr::value(1))
        .filter(Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
}

fn ms(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().timestamp_millis()
}

fn hex_sha256(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}
