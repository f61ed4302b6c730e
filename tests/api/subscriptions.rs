//! Live updates over `graphql-transport-ws` (CONTRACT §9).

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, SECRET};
use crate::ws::{Frame, Refused, Ws};

const QUIET: Duration = Duration::from_millis(400);

fn own_token(sub: &str, ver: Option<i32>, exp_in: i64) -> String {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let mut claims = json!({ "iss": "todo-graphql", "aud": "todo-graphql", "sub": sub, "iat": now, "nbf": now, "exp": now + exp_in });
    if let Some(v) = ver {
        claims["ver"] = json!(v);
    }
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

async fn init_with(app: &TestApp, headers: &[(&str, &str)], payload: Value) -> Frame {
    let mut ws = Ws::open(app, headers).await.unwrap();
    ws.send(json!({ "type": "connection_init", "payload": payload })).await;
    ws.next().await
}

fn bearer(t: &str) -> Value {
    json!({ "Authorization": format!("Bearer {t}") })
}

both_backends! {
    async fn events_reach_their_owner_only(b: Backend) {
        let app = TestApp::spawn(b).await;
        let alice = app.signup("alice@example.com").await;
        let bob = app.signup("bob@example.com").await;
        let mut a = Ws::connect(&app, Some(&alice.access)).await;
        let mut bws = Ws::connect(&app, Some(&bob.access)).await;
        a.task_events("a").await;
        bws.task_events("b").await;
        a.settle().await;
        bws.settle().await;

        let id = app.create_task(&alice.access, "alice's").await;
        let e = a.event("a").await;
        assert_eq!(e["data"]["taskEvents"], json!({ "kind": "CREATED", "taskId": id, "task": { "id": id, "title": "alice's", "completed": false } }));
        assert_eq!(bws.within(QUIET).await, Frame::Silence, "bob sees nothing of alice's");
        // ... and bob's own event does reach him, so that silence meant something.
        let bid = app.create_task(&bob.access, "bob's").await;
        assert_eq!(bws.event("b").await["data"]["taskEvents"]["taskId"], bid.as_str());
        assert_eq!(a.within(QUIET).await, Frame::Silence);

        app.gql(Some(&alice.access), "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }", json!({ "id": id })).await.ok();
        let e = a.event("a").await;
        assert_eq!(e["data"]["taskEvents"]["kind"], "UPDATED");
        assert_eq!(e["data"]["taskEvents"]["task"]["completed"], true);
        app.gql(Some(&alice.access), "mutation($id: ID!) { deleteTask(id: $id) }", json!({ "id": id })).await.ok();
        let e = a.event("a").await;
        assert_eq!(e["data"]["taskEvents"], json!({ "kind": "DELETED", "taskId": id, "task": null }));
        // Bob's attempt on alice's task sends nothing to anyone.
        app.gql(Some(&bob.access), "mutation($id: ID!) { deleteTask(id: $id) }", json!({ "id": bid })).await.ok();
        assert_eq!(bws.event("b").await["data"]["taskEvents"]["kind"], "DELETED");
        assert_eq!(a.within(QUIET).await, Frame::Silence);
    }

    async fn events_come_in_commit_order(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let mut ws = Ws::connect(&app, Some(&s.access)).await;
        ws.task_events("1").await;
        ws.settle().await;
        let mut ids = Vec::new();
        for i in 0..10 {
            ids.push(app.create_task(&s.access, &format!("t{i}")).await);
        }
        for id in ids {
            assert_eq!(ws.event("1").await["data"]["taskEvents"]["taskId"], id.as_str());
        }
    }

    async fn anonymous_sockets_connect_but_guarded_fields_refuse(b: Backend) {
        let app = TestApp::spawn(b).await;
        let mut ws = Ws::connect(&app, None).await;
        ws.task_events("1").await;
        let error = match ws.next().await {
            Frame::Json(v) if v["type"] == "next" || v["type"] == "error" => v,
            other => panic!("{other:?}"),
        };
        let errors = if error["type"] == "error" { error["payload"].clone() } else { error["payload"]["errors"].clone() };
        assert_eq!(errors[0]["extensions"]["code"], "UNAUTHENTICATED", "{error}");
        ws.subscribe("2", "{ me { id } }").await;
        let v = ws.event("2").await;
        assert_eq!(v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        // Public fields work over the socket.
        ws.subscribe("3", "{ __typename }").await;
        assert_eq!(ws.event("3").await["data"]["__typename"], "Query");
    }

    async fn bad_tokens_close_the_socket_with_4403(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let me = s.user_id.as_str();
        let cases: Vec<(&str, Value)> = vec![
            ("garbage", bearer("garbage")),
            ("a refresh token", bearer(&s.refresh)),
            ("expired, within HTTP's leeway", bearer(&own_token(me, Some(0), -5))),
            ("no ver", bearer(&own_token(me, None, 600))),
            ("stale ver", bearer(&own_token(me, Some(7), 600))),
            ("unknown user", bearer(&own_token(&uuid::Uuid::new_v4().to_string(), Some(0), 600))),
            ("not bearer", json!({ "authorization": format!("Basic {}", s.access) })),
        ];
        for (what, payload) in cases {
            assert_eq!(init_with(&app, &[], payload).await, Frame::Close(4403), "{what}");
        }
        // The key is case-insensitive, and an empty value is no token.
        assert_eq!(init_with(&app, &[], json!({ "AUTHORIZATION": format!("Bearer {}", s.access) })).await,
                   Frame::Json(json!({ "type": "connection_ack" })));
        for none in [json!({ "Authorization": "" }), json!({ "Authorization": null }), json!({ "authorization": "  " })] {
            assert_eq!(init_with(&app, &[], none.clone()).await, Frame::Json(json!({ "type": "connection_ack" })), "{none}");
        }
    }

    async fn the_upgrade_header_authenticates_and_the_payload_wins(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let good = format!("Bearer {}", s.access);
        let mut ws = Ws::open(&app, &[("authorization", &good)]).await.unwrap();
        ws.send(json!({ "type": "connection_init" })).await;
        assert_eq!(ws.next().await, Frame::Json(json!({ "type": "connection_ack" })));
        ws.subscribe("1", "{ me { email } }").await;
        assert_eq!(ws.event("1").await["data"]["me"]["email"], "alice@example.com");
        assert_eq!(init_with(&app, &[("authorization", "Bearer junk")], bearer(&s.access)).await,
                   Frame::Json(json!({ "type": "connection_ack" })), "payload wins");
        assert_eq!(init_with(&app, &[("authorization", &good)], bearer("junk")).await, Frame::Close(4403));
        assert_eq!(init_with(&app, &[("authorization", "Bearer junk")], json!({})).await, Frame::Close(4403));
        assert_eq!(init_with(&app, &[("authorization", &good), ("authorization", &good)], json!({})).await, Frame::Close(4403));
    }

    async fn the_handshake_rules_hold(b: Backend) {
        let app = TestApp::spawn_with(b, |c| { c.ws_init_timeout = 1; c.cors_allowed_origins = vec!["https://app.example.com".into()]; }).await;
        let url = format!("ws://{}/graphql", app.addr);
        let Err(Refused(status)) = Ws::open_with(&url, None, &[]).await else { panic!("no subprotocol accepted") };
        assert_eq!(status, 400);
        let Err(Refused(status)) = Ws::open_with(&url, Some("graphql-ws"), &[]).await else { panic!("legacy accepted") };
        assert_eq!(status, 400);
        let Err(Refused(status)) = Ws::open(&app, &[("origin", "https://evil.example.net")]).await else { panic!("foreign origin") };
        assert_eq!(status, 403);
        Ws::open(&app, &[("origin", "https://app.example.com")]).await.unwrap();
        Ws::open(&app, &[("origin", &format!("http://{}", app.addr))]).await.unwrap();
        // No connection_init within the timeout: 4408.
        let mut ws = Ws::open(&app, &[]).await.unwrap();
        assert_eq!(ws.within(Duration::from_secs(3)).await, Frame::Close(4408));
        // A second connection_init: 4429.
        let mut ws = Ws::connect(&app, None).await;
        ws.send(json!({ "type": "connection_init" })).await;
        assert_eq!(ws.next().await, Frame::Close(4429));
        // Anything that is not a graphql-transport-ws message: 4400 (the
        // legacy protocol's `start` too, so it cannot dodge the subscription cap).
        for bad in [json!({ "type": "start", "id": "1", "payload": { "query": "{ __typename }" } }), json!({ "type": "nonsense" })] {
            let mut ws = Ws::connect(&app, None).await;
            ws.send(bad.clone()).await;
            assert_eq!(ws.next().await, Frame::Close(4400), "{bad}");
        }
        let mut ws = Ws::open(&app, &[]).await.unwrap();
        ws.send(json!("not an object")).await;
        assert_eq!(ws.next().await, Frame::Close(4400));
        // Subscribing before connection_init: 4401.
        let mut ws = Ws::open(&app, &[]).await.unwrap();
        ws.task_events("1").await;
        assert_eq!(ws.next().await, Frame::Close(4401));
    }

    async fn sockets_per_user_and_subscriptions_per_socket_are_bounded(b: Backend) {
        let app = TestApp::spawn_with(b, |c| { c.ws_max_sockets_per_user = 3; c.ws_max_subscriptions = 2; }).await;
        let s = app.signup("alice@example.com").await;
        let mut open = Vec::new();
        for _ in 0..3 {
            open.push(Ws::connect(&app, Some(&s.access)).await);
        }
        assert_eq!(init_with(&app, &[], bearer(&s.access)).await, Frame::Close(4429));
        // Closing one frees its place.
        drop(open.pop());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut ws = Ws::connect(&app, Some(&s.access)).await;
        ws.task_events("1").await;
        ws.task_events("2").await;
        ws.task_events("3").await;
        match ws.next().await {
            Frame::Json(v) => {
                assert_eq!(v["type"], "error");
                assert_eq!(v["id"], "3");
                assert_eq!(v["payload"][0]["extensions"]["code"], "TOO_MANY_REQUESTS");
            }
            other => panic!("{other:?}"),
        }
        // The socket stays open, and a completed subscription frees its slot.
        ws.send(json!({ "type": "complete", "id": "1" })).await;
        ws.task_events("4").await;
        ws.settle().await;
        let id = app.create_task(&s.access, "x").await;
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2 {
            match ws.next().await {
                Frame::Json(v) if v["type"] == "next" => {
                    assert_eq!(v["payload"]["data"]["taskEvents"]["taskId"], id.as_str());
                    seen.insert(v["id"].as_str().unwrap().to_owned());
                }
                Frame::Json(v) if v["type"] == "complete" => continue,
                other => panic!("{other:?}"),
            }
        }
        assert!(seen.contains("4"), "{seen:?}");
    }

    async fn a_second_subscribe_with_an_active_id_closes_the_socket_4409(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let mut ws = Ws::connect(&app, Some(&s.access)).await;
        ws.task_events("same").await;
        ws.settle().await;
        ws.task_events("same").await;
        assert_eq!(ws.next().await, Frame::Close(4409));
        // A finished id may be used again.
        let mut ws = Ws::connect(&app, Some(&s.access)).await;
        for _ in 0..2 {
            ws.subscribe("q", "{ __typename }").await;
            assert_eq!(ws.event("q").await["data"]["__typename"], "Query");
            assert_eq!(ws.next().await, Frame::Json(json!({ "type": "complete", "id": "q" })));
        }
    }

    async fn logout_password_change_and_deletion_close_the_users_sockets(b: Backend) {
        let app = TestApp::spawn(b).await;
        for (i, op) in ["mutation { logout }",
                        "mutation { changePassword(input: {currentPassword: \"correct horse battery\", newPassword: \"another password\"}) { accessToken } }",
                        "mutation { deleteAccount(password: \"correct horse battery\") }"].iter().enumerate() {
            let s = app.signup(&format!("u{i}@example.com")).await;
            let other = app.signup(&format!("other{i}@example.com")).await;
            let mut ws = Ws::connect(&app, Some(&s.access)).await;
            let mut bystander = Ws::connect(&app, Some(&other.access)).await;
            ws.task_events("1").await;
            ws.settle().await;
            app.gql(Some(&s.access), op, json!({})).await.ok();
            assert_eq!(ws.within(Duration::from_secs(1)).await, Frame::Close(4403), "{op}");
            assert_eq!(bystander.within(QUIET).await, Frame::Silence, "other users' sockets stay");
            // The same token is refused on reconnect.
            assert_eq!(init_with(&app, &[], bearer(&s.access)).await, Frame::Close(4403), "{op}");
        }
    }

    async fn a_socket_closes_when_its_token_expires(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.access_token_ttl = 2).await;
        let s = app.signup("alice@example.com").await;
        let mut ws = Ws::connect(&app, Some(&s.access)).await;
        ws.task_events("1").await;
        assert_eq!(ws.within(Duration::from_secs(5)).await, Frame::Close(4403));
        // A refreshed token connects again.
        let r = app.gql(None, "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", json!({ "t": s.refresh })).await;
        let fresh = r.ok()["refreshToken"]["accessToken"].as_str().unwrap().to_owned();
        Ws::connect(&app, Some(&fresh)).await;
    }

    async fn operations_over_the_socket_obey_the_login_rate_limit(b: Backend) {
        let app = TestApp::spawn_with(b, |c| c.login_ip_max_attempts = 3).await;
        let mut ws = Ws::connect(&app, None).await;
        let login = "mutation { login(input: {email: \"x@example.com\", password: \"wrong password\"}) { accessToken } }";
        let mut codes = Vec::new();
        for i in 0..5 {
            let id = format!("l{i}");
            ws.subscribe(&id, login).await;
            let v = ws.event(&id).await;
            codes.push(v["errors"][0]["extensions"]["code"].as_str().unwrap().to_owned());
        }
        assert_eq!(codes, ["UNAUTHENTICATED", "UNAUTHENTICATED", "UNAUTHENTICATED", "TOO_MANY_REQUESTS", "TOO_MANY_REQUESTS"]);
        // Limits on documents apply too.
        let deep = format!("{{ __schema {{ types {{ fields {{ type {{ {}kind{} }} }} }} }} }}", "ofType { ".repeat(16), " }".repeat(16));
        ws.subscribe("deep", &deep).await;
        loop {
            match ws.next().await {
                Frame::Json(v) if v["type"] == "complete" && v["id"] != "deep" => continue,
                Frame::Json(v) => {
                    assert!(v.to_string().contains("GRAPHQL_VALIDATION_FAILED"), "{v}");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn two_replicas_on_one_postgres_database_deliver_each_others_events() {
    let Some(b) = Backend::postgres("subscriptions::two_replicas") else { return };
    let one = TestApp::spawn(b).await;
    // A second server process on the same database (same schema).
    let two = TestApp::start(one.config.clone(), tempfile::tempdir().unwrap(), None).await;
    let s = one.signup("alice@example.com").await;
    let mut ws = Ws::connect(&one, Some(&s.access)).await;
    ws.task_events("1").await;
    ws.settle().await;
    let id = two.create_task(&s.access, "made on replica two").await;
    let e = ws.event("1").await;
    assert_eq!(e["data"]["taskEvents"]["taskId"], id.as_str());
    assert_eq!(e["data"]["taskEvents"]["task"]["title"], "made on replica two");
    // Logout on replica two closes the socket on replica one within a second.
    two.gql(Some(&s.access), "mutation { logout }", json!({})).await.ok();
    assert_eq!(ws.within(Duration::from_secs(1)).await, Frame::Close(4403));
}
