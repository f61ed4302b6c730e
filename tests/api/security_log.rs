//! The security log of CONTRACT §7: every authentication failure and limit
//! hit is one `warn` event with target `security`, reason and client
//! address, and never a token, a password, a hash or the email tried.
//! Read from the real binary's JSON log (`LOG_FORMAT=json`).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{post_gql, Gql, ServerProcess, PASSWORD, SECRET};

fn events(log: &str) -> Vec<Value> {
    log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect()
}

fn security_events(log: &str) -> Vec<Value> {
    events(log).into_iter().filter(|e| e["target"] == "security").collect()
}

#[tokio::test]
async fn authentication_failures_are_logged_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[("LOG_FORMAT", "json"), ("LOGIN_EMAIL_MAX_FAILURES", "2")]);
    let client = reqwest::Client::new();
    let gql = server.url("/graphql");
    let signup = post_gql(&client, &gql, None, "mutation { signup(input: {email: \"victim@example.com\", password: \"correct horse battery\"}) { accessToken refreshToken } }", json!({})).await;
    let access = signup.ok()["signup"]["accessToken"].as_str().unwrap().to_owned();
    let refresh = signup.ok()["signup"]["refreshToken"].as_str().unwrap().to_owned();

    let wrong_password = "hunter2-wrong-password";
    let login = "mutation($p: String!) { login(input: {email: \"victim@example.com\", password: $p}) { accessToken } }";
    for _ in 0..3 {
        post_gql(&client, &gql, None, login, json!({ "p": wrong_password })).await;
    }
    let n = jsonwebtoken::get_current_timestamp() as i64;
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    let expired = jsonwebtoken::encode(
        &header,
        &json!({ "iss": "todo-graphql", "aud": "todo-graphql",
        "sub": uuid::Uuid::new_v4().to_string(), "iat": n - 4000, "nbf": n - 4000, "exp": n - 3000 }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    // Same header and claims, another signature.
    let dot = access.rfind('.').unwrap() + 1;
    let flipped = if access.as_bytes()[dot] == b'A' { "B" } else { "A" };
    let forged = format!("{}{}{}", &access[..dot], flipped, &access[dot + 1..]);
    for token in [&expired, &forged, &refresh] {
        let r = client.post(&gql).bearer_auth(token).json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = client
        .post(&gql)
        .header("x-request-id", "req-123")
        .json(&json!({ "query": "query WhoAmI { me { id } }", "operationName": "WhoAmI" }))
        .send()
        .await
        .unwrap();
    let r = Gql::from(r).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-request-id"), Some("req-123"));
    post_gql(
        &client,
        &gql,
        None,
        "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
        json!({ "t": access }),
    )
    .await;

    // Give the log a moment to be read from the pipe.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = server.log_text();
    let security = security_events(&log);
    let reasons: Vec<&str> = security.iter().filter_map(|e| e["fields"]["reason"].as_str()).collect();
    for e in &security {
        assert_eq!(e["level"], "WARN", "{e}");
        assert_eq!(e["fields"]["client"], "127.0.0.1", "{e}");
    }
    for want in ["bad email or password", "rate limited", "expired", "bad signature", "wrong token type", "no token"] {
        assert!(reasons.contains(&want), "no security event with reason {want:?}: {reasons:?}");
    }
    assert_eq!(reasons.iter().filter(|r| **r == "bad email or password").count(), 2);
    // The request span carries the request id and the operation name.
    let whoami = security.iter().find(|e| e["fields"]["reason"] == "no token").unwrap();
    let request = whoami["spans"].as_array().and_then(|s| s.iter().find(|s| s["name"] == "request")).unwrap();
    assert_eq!(request["request_id"], "req-123", "{whoami}");
    assert_eq!(request["operation"], "WhoAmI", "{whoami}");
    assert_eq!(whoami["span"]["graphql.operation.name"], "WhoAmI", "{whoami}");

    for secret in [
        wrong_password,
        PASSWORD,
        access.as_str(),
        refresh.as_str(),
        expired.as_str(),
        forged.as_str(),
        SECRET,
        "victim@example.com",
        "$2b$",
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}");
    }
}
