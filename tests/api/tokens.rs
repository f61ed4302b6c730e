//! Token rules of CONTRACT §5 (statuses) and §6: every forged, expired,
//! swapped or tampered token is a 401 with `WWW-Authenticate`, and nothing
//! runs, public fields included.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Gql, TestApp, SECRET};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Claims like the server's own for `sub`.
fn claims(sub: &str) -> Value {
    let n = now();
    json!({ "iss": "todo-graphql", "aud": "todo-graphql", "sub": sub, "email": "a@example.com",
            "iat": n, "nbf": n, "exp": n + 600, "jti": uuid::Uuid::new_v4().to_string(), "ver": 0 })
}

fn sign(alg: Algorithm, typ: Option<&str>, kid: Option<&str>, claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(alg);
    header.typ = typ.map(str::to_owned);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn own(claims: &Value) -> String {
    sign(Algorithm::HS256, Some("at+jwt"), None, claims, SECRET.as_bytes())
}

fn with(mut c: Value, key: &str, value: Value) -> Value {
    c[key] = value;
    c
}

fn without(mut c: Value, key: &str) -> Value {
    c.as_object_mut().unwrap().remove(key);
    c
}

#[track_caller]
fn assert_invalid_token(r: &Gql, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.body);
    assert_eq!(r.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#), "{what}");
    assert_eq!(r.code(), Some("UNAUTHENTICATED"), "{what}");
    assert!(r.body.get("data").is_none(), "{what}: nothing is executed");
}

async fn typename(app: &TestApp, token: &str) -> Gql {
    app.gql_with_auth(&format!("Bearer {token}"), "{ __typename }").await
}

both_backends! {
    async fn the_access_token_is_an_rfc9068_hs256_jwt_another_service_can_verify(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let header = jsonwebtoken::decode_header(&s.access).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert!(header.kid.is_some());
        assert!(!header.kid.as_deref().unwrap().contains(SECRET));
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&["todo-graphql"]);
        v.set_issuer(&["todo-graphql"]);
        let data = jsonwebtoken::decode::<Value>(&s.access, &DecodingKey::from_secret(SECRET.as_bytes()), &v).unwrap();
        let c = data.claims;
        assert_eq!(c["sub"], s.user_id.as_str());
        assert_eq!(c["email"], "alice@example.com");
        assert_eq!(c["ver"], 0);
        for k in ["iat", "nbf", "exp", "jti"] {
            assert!(c.get(k).is_some(), "claim {k}");
        }
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);
        // The refresh token is not signed with the secret itself.
        let rh = jsonwebtoken::decode_header(&s.refresh).unwrap();
        assert_eq!(rh.typ.as_deref(), Some("rt+jwt"));
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_aud = false;
        assert!(jsonwebtoken::decode::<Value>(&s.refresh, &DecodingKey::from_secret(SECRET.as_bytes()), &v).is_err());
    }

    async fn a_token_minted_by_another_service_with_the_secret_is_accepted(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let token = own(&claims(&s.user_id));
        let r = app.gql(Some(&token), "{ me { id } }", json!({})).await;
        assert_eq!(r.ok()["me"]["id"], s.user_id.as_str());
        // Within the 30 s leeway.
        let c = with(claims(&s.user_id), "exp", json!(now() - 10));
        app.gql(Some(&own(&c)), "{ me { id } }", json!({})).await.ok();
    }

    async fn every_bad_token_is_a_401_before_anything_runs(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let id = s.user_id.as_str();
        let secret = SECRET.as_bytes();
        let other_secret = b"another-secret-another-secret-another-secret";
        let cases: Vec<(&str, String)> = vec![
            ("expired beyond leeway", own(&with(claims(id), "exp", json!(now() - 60)))),
            ("not yet valid", own(&with(claims(id), "nbf", json!(now() + 120)))),
            ("wrong issuer", own(&with(claims(id), "iss", json!("someone-else")))),
            ("wrong audience", own(&with(claims(id), "aud", json!("someone-else")))),
            ("no exp", own(&without(claims(id), "exp"))),
            ("no sub", own(&without(claims(id), "sub"))),
            ("no iss", own(&without(claims(id), "iss"))),
            ("no aud", own(&without(claims(id), "aud"))),
            ("sub not a uuid", own(&with(claims(id), "sub", json!("alice")))),
            ("exp as a string", own(&with(claims(id), "exp", json!("9999999999")))),
            ("other secret", sign(Algorithm::HS256, Some("at+jwt"), None, &claims(id), other_secret)),
            ("HS512", sign(Algorithm::HS512, Some("at+jwt"), None, &claims(id), secret)),
            ("HS384", sign(Algorithm::HS384, Some("at+jwt"), None, &claims(id), secret)),
            ("typ JWT", sign(Algorithm::HS256, Some("JWT"), None, &claims(id), secret)),
            ("no typ", sign(Algorithm::HS256, None, None, &claims(id), secret)),
            ("typ rt+jwt", sign(Algorithm::HS256, Some("rt+jwt"), None, &claims(id), secret)),
            ("unknown kid", sign(Algorithm::HS256, Some("at+jwt"), Some("nope"), &claims(id), secret)),
            ("a refresh token", s.refresh.clone()),
            ("alg none", alg_none(&claims(id))),
            ("tampered payload", tamper(&s.access)),
            ("truncated signature", s.access[..s.access.len() - 3].to_owned()),
            ("garbage", "not.a.token".to_owned()),
        ];
        for (what, token) in cases {
            assert_invalid_token(&typename(&app, &token).await, what);
        }
    }

    async fn unusable_authorization_headers_are_refused(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        for (what, header) in [
            ("basic scheme", format!("Basic {}", s.access)),
            ("no scheme", s.access.clone()),
            ("empty bearer", "Bearer ".to_owned()),
            ("empty header", String::new()),
            ("over 8 KiB", format!("Bearer {}", "a".repeat(9 * 1024))),
        ] {
            assert_invalid_token(&app.gql_with_auth(&header, "{ __typename }").await, what);
        }
        // A public mutation is not executed either.
        let r = app.gql_with_auth("Bearer junk", "mutation { signup(input: {email: \"new@example.com\", password: \"correct horse battery\"}) { accessToken } }").await;
        assert_invalid_token(&r, "signup with bad token");
        app.signup("new@example.com").await;
        // The scheme word is case-insensitive.
        for scheme in ["bearer", "BEARER", "Bearer"] {
            let r = app.gql_with_auth(&format!("{scheme} {}", s.access), "{ me { id } }").await;
            assert_eq!(r.ok()["me"]["id"], s.user_id.as_str());
        }
    }

    async fn several_authorization_headers_are_a_400(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let r = app.client.post(app.url("/graphql"))
            .header("authorization", format!("Bearer {}", s.access))
            .header("authorization", format!("Bearer {}", s.access))
            .json(&json!({ "query": "{ __typename }" }))
            .send().await.unwrap();
        let r = Gql::from(r).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.header("www-authenticate"), Some(r#"Bearer error="invalid_request""#));
        assert!(r.body.get("data").is_none());
    }
}

fn alg_none(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{header}.{payload}.")
}

/// Changes the payload's `sub` and keeps the signature.
fn tamper(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(uuid::Uuid::new_v4().to_string());
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap()), parts[2])
}
