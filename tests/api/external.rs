//! Tokens from an external identity provider (CONTRACT §8), against a JWKS
//! server started inside the test on port 0 with keys the test holds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, Gql, TestApp, SECRET};

pub const ISS: &str = "http://better-auth.test";
pub const AUD: &str = "http://better-auth.test/app";

/// A private key of the test's issuer.
#[derive(Clone)]
pub struct SigningKey {
    pub alg: Algorithm,
    pub kid: String,
    enc: EncodingKey,
    pub jwk: Value,
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Keys from `tests/fixtures` (`ed25519-a`, `ed25519-b`, `p256`, `rsa2048`).
pub fn key(alg: Algorithm, file: &str, kid: &str) -> SigningKey {
    let der = fixture(file);
    let enc = match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_der(&der),
        Algorithm::ES256 => EncodingKey::from_ec_der(&der),
        _ => EncodingKey::from_rsa_der(&der),
    };
    let mut jwk = match alg {
        // jsonwebtoken cannot derive an Ed25519 JWK: the public key is the
        // last 32 bytes of the SubjectPublicKeyInfo beside the fixture.
        Algorithm::EdDSA => {
            let pem = String::from_utf8(fixture(&file.replace(".der", ".pub.pem"))).unwrap();
            let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let spki = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
            json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": URL_SAFE_NO_PAD.encode(&spki[spki.len() - 32..]) })
        }
        // P-256: the SubjectPublicKeyInfo ends with the point 04 || x || y.
        Algorithm::ES256 => {
            let pem = String::from_utf8(fixture(&file.replace(".der", ".pub.pem"))).unwrap();
            let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let spki = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
            let (x, y) = (&spki[spki.len() - 64..spki.len() - 32], &spki[spki.len() - 32..]);
            json!({ "kty": "EC", "crv": "P-256", "alg": "ES256", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y) })
        }
        _ => serde_json::to_value(Jwk::from_encoding_key(&enc, alg).unwrap()).unwrap(),
    };
    jwk["kid"] = json!(kid);
    // Like Better Auth: no `use`.
    jwk.as_object_mut().unwrap().remove("use");
    SigningKey { alg, kid: kid.into(), enc, jwk }
}

pub fn all_keys() -> Vec<SigningKey> {
    vec![
        key(Algorithm::EdDSA, "ed25519-a.der", "ed-a"),
        key(Algorithm::ES256, "p256.der", "es-1"),
        key(Algorithm::RS256, "rsa2048.der", "rs-1"),
        key(Algorithm::PS256, "rsa2048.der", "ps-1"),
    ]
}

/// Claims like Better Auth's for a user `sub`.
pub fn claims(sub: &str, email: &str) -> Value {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    json!({ "iat": now, "name": "Ada", "email": email, "emailVerified": false, "id": sub, "sub": sub,
            "exp": now + 900, "iss": ISS, "aud": AUD })
}

/// Signs like Better Auth: header `{alg, kid}`, no `typ`.
pub fn sign(key: &SigningKey, claims: &Value) -> String {
    sign_with(key, claims, Some(&key.kid), None)
}

fn sign_with(key: &SigningKey, claims: &Value, kid: Option<&str>, typ: Option<&str>) -> String {
    let mut header = Header::new(key.alg);
    header.typ = typ.map(str::to_owned);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.enc).unwrap()
}

/// A JWKS endpoint that counts its hits and can rotate or go away.
pub struct Issuer {
    pub url: String,
    pub hits: Arc<AtomicUsize>,
    keys: Arc<Mutex<Vec<Value>>>,
    cache_control: Arc<Mutex<Option<String>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Issuer {
    pub async fn start(keys: &[SigningKey]) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let published = Arc::new(Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()));
        let cache_control: Arc<Mutex<Option<String>>> = Arc::default();
        let (h, p, c) = (hits.clone(), published.clone(), cache_control.clone());
        let app = axum::Router::new().route(
            "/api/auth/jwks",
            axum::routing::get(move || {
                let (h, p, c) = (h.clone(), p.clone(), c.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    let body = axum::Json(json!({ "keys": *p.lock().unwrap() }));
                    match c.lock().unwrap().clone() {
                        Some(cc) => ([(CACHE_CONTROL, cc)], body).into_response(),
                        None => body.into_response(),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/auth/jwks", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, hits, keys: published, cache_control, server }
    }

    pub fn publish(&self, keys: &[SigningKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn stop(&self) {
        self.server.abort();
    }
}

/// A server that trusts `issuer`.
pub async fn app_for(b: Backend, issuer: &Issuer) -> TestApp {
    let url = issuer.url.clone();
    TestApp::spawn_with(b, move |c| {
        c.auth_jwks_url = Some(url);
        c.auth_external_issuer = Some(ISS.into());
        c.auth_external_audience = Some(AUD.into());
    })
    .await
}

async fn me(app: &TestApp, token: &str) -> Gql {
    app.gql(Some(token), "{ me { id email name } }", json!({})).await
}

#[track_caller]
fn assert_401(r: &Gql, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.body);
    assert_eq!(r.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#), "{what}");
    assert_eq!(r.code(), Some("UNAUTHENTICATED"), "{what}");
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("ed-a".into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

both_backends! {
    async fn every_asymmetric_algorithm_is_accepted_and_maps_to_one_user(b: Backend) {
        let keys = all_keys();
        let issuer = Issuer::start(&keys).await;
        let app = app_for(b, &issuer).await;
        for k in &keys {
            let sub = format!("ba-{}-{}", k.kid, "x".repeat(24));
            let token = sign(k, &claims(&sub, "Ada@Example.com"));
            let first = me(&app, &token).await;
            assert_eq!(first.ok()["me"]["email"], "ada@example.com", "{:?}", k.alg);
            assert_eq!(first.data()["me"]["name"], "Ada");
            let again = me(&app, &sign(k, &claims(&sub, "ada@example.com"))).await;
            assert_eq!(again.ok()["me"]["id"], first.data()["me"]["id"], "one user per (issuer, sub)");
            let id = app.create_task(&token, &format!("from {:?}", k.alg)).await;
            let r = app.gql(Some(&token), "{ tasks { totalCount nodes { id } } }", json!({})).await;
            assert_eq!(r.ok()["tasks"]["nodes"], json!([{ "id": id }]));
        }
    }

    async fn every_bad_external_token_is_a_401(b: Backend) {
        let keys = all_keys();
        let issuer = Issuer::start(&keys).await;
        let app = app_for(b, &issuer).await;
        let ed = &keys[0];
        let es = &keys[1];
        let sub = "ba-user-0123456789abcdef0123456789";
        let good = claims(sub, "ada@example.com");
        me(&app, &sign(ed, &good)).await.ok();
        let with = |k: &str, v: Value| { let mut c = good.clone(); c[k] = v; c };
        let without = |k: &str| { let mut c = good.clone(); c.as_object_mut().unwrap().remove(k); c };
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let tampered = {
            let t = sign(ed, &good);
            let parts: Vec<&str> = t.split('.').collect();
            let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with("sub", json!("someone-else"))).unwrap());
            format!("{}.{payload}.{}", parts[0], parts[2])
        };
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"ed-a"}"#),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good).unwrap()));
        let es_pem = fixture("p256.pub.pem");
        let es_jwk = serde_json::to_vec(&es.jwk).unwrap();
        let own_claims = json!({ "iss": "todo-graphql", "aud": "todo-graphql", "sub": uuid::Uuid::new_v4().to_string(),
            "iat": now, "nbf": now, "exp": now + 600, "ver": 0 });
        let cases: Vec<(&str, String)> = vec![
            ("unknown issuer", sign(ed, &with("iss", json!("http://evil.test")))),
            ("wrong audience", sign(ed, &with("aud", json!("http://other.test")))),
            ("audience array without ours", sign(ed, &with("aud", json!(["a", "b"])))),
            ("expired", sign(ed, &with("exp", json!(now - 120)))),
            ("no exp", sign(ed, &without("exp"))),
            ("future nbf", sign(ed, &with("nbf", json!(now + 300)))),
            ("future iat", sign(ed, &with("iat", json!(now + 300)))),
            ("no sub", sign(ed, &without("sub"))),
            ("no email", sign(ed, &without("email"))),
            ("bad email", sign(ed, &with("email", json!("not-an-email")))),
            ("tampered payload", tampered),
            ("alg none", none),
            ("typ rt+jwt", sign_with(ed, &good, Some("ed-a"), Some("rt+jwt"))),
            ("unknown kid", sign_with(ed, &good, Some("nope"), None)),
            ("key of another kid", sign_with(es, &good, Some("ed-a"), None)),
            ("HS256 keyed with the issuer's PEM", hs256(&good, &es_pem)),
            ("HS256 keyed with the issuer's JWK", hs256(&good, &es_jwk)),
            ("HS256 signed with JWT_SECRET, external iss", hs256(&good, SECRET.as_bytes())),
            ("own token re-signed with an issuer key", sign(es, &own_claims)),
        ];
        for (what, token) in cases {
            assert_401(&me(&app, &token).await, what);
        }
        // The own path still works.
        let s = app.signup("own@example.com").await;
        me(&app, &s.access).await.ok();
    }

    async fn an_unknown_kid_storm_costs_the_issuer_one_fetch(b: Backend) {
        let keys = all_keys();
        let issuer = Issuer::start(&keys).await;
        let app = app_for(b, &issuer).await;
        let token = sign_with(&keys[0], &claims("ba-storm", "storm@example.com"), Some("random-kid"), None);
        let storm = (0..100).map(|_| me(&app, &token));
        for r in futures::future::join_all(storm).await {
            assert_eq!(r.status, 401);
        }
        assert_eq!(issuer.hits(), 1, "a cold storm fetches once");
        let tokens: Vec<String> = (0..100)
            .map(|i| sign_with(&keys[0], &claims("ba-storm", "storm@example.com"), Some(&format!("kid-{i}")), None))
            .collect();
        futures::future::join_all(tokens.iter().map(|t| me(&app, t))).await;
        assert_eq!(issuer.hits(), 1, "no refetch within 5 s");
        // Known keys keep working meanwhile.
        me(&app, &sign(&keys[0], &claims("ba-storm", "storm@example.com"))).await.ok();
    }

    async fn keys_already_fetched_keep_working_while_the_issuer_is_down(b: Backend) {
        let keys = all_keys();
        let issuer = Issuer::start(&keys).await;
        let app = app_for(b, &issuer).await;
        me(&app, &sign(&keys[1], &claims("ba-down", "down@example.com"))).await.ok();
        issuer.stop();
        for k in &keys {
            me(&app, &sign(k, &claims("ba-down", "down@example.com"))).await.ok();
        }
    }

    async fn a_rotated_key_is_picked_up_and_max_age_is_honoured(b: Backend) {
        let a = key(Algorithm::EdDSA, "ed25519-a.der", "ed-a");
        let b_key = key(Algorithm::EdDSA, "ed25519-b.der", "ed-b");
        // One issuer without Cache-Control (like Better Auth), one with max-age.
        let plain = Issuer::start(std::slice::from_ref(&a)).await;
        let cached = Issuer::start(std::slice::from_ref(&a)).await;
        *cached.cache_control.lock().unwrap() = Some("public, max-age=1".into());
        let plain_app = app_for(b.clone(), &plain).await;
        let cached_app = app_for(b, &cached).await;
        // One key and no kid: that key.
        let c = claims("ba-rot", "rot@example.com");
        me(&plain_app, &sign_with(&a, &c, None, None)).await.ok();
        me(&cached_app, &sign(&a, &c)).await.ok();
        assert_eq!((plain.hits(), cached.hits()), (1, 1));
        plain.publish(&[a.clone(), b_key.clone()]);
        cached.publish(&[a.clone(), b_key.clone()]);
        tokio::time::sleep(REFETCH_WAIT).await;

        // A known kid: no fetch without max-age; a fetch once max-age ran out.
        me(&plain_app, &sign(&a, &c)).await.ok();
        me(&cached_app, &sign(&a, &c)).await.ok();
        assert_eq!((plain.hits(), cached.hits()), (1, 2));
        // The cached issuer's refetch brought the new key along.
        me(&cached_app, &sign(&b_key, &c)).await.ok();
        assert_eq!(cached.hits(), 2);
        // A new kid is fetched for.
        me(&plain_app, &sign(&b_key, &c)).await.ok();
        assert_eq!(plain.hits(), 2);
        // Two keys now: a token without kid is refused.
        assert_401(&me(&plain_app, &sign_with(&a, &c, None, None)).await, "no kid, two keys");
    }

    async fn an_absurd_max_age_is_capped_not_a_crash(b: Backend) {
        let keys = all_keys();
        let issuer = Issuer::start(&keys).await;
        *issuer.cache_control.lock().unwrap() = Some(format!("max-age={}", u64::MAX));
        let app = app_for(b, &issuer).await;
        me(&app, &sign(&keys[0], &claims("ba-age", "age@example.com"))).await.ok();
        me(&app, &sign(&keys[1], &claims("ba-age", "age@example.com"))).await.ok();
        assert_eq!(issuer.hits(), 1);
    }

    async fn start_up_does_not_wait_for_an_unreachable_issuer(b: Backend) {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/auth/jwks", dead.local_addr().unwrap());
        drop(dead);
        let started = std::time::Instant::now();
        let app = TestApp::spawn_with(b, move |c| {
            c.auth_jwks_url = Some(url);
            c.auth_external_issuer = Some(ISS.into());
            c.auth_external_audience = Some(AUD.into());
        })
        .await;
        assert!(started.elapsed() < Duration::from_secs(3));
        let keys = all_keys();
        assert_401(&me(&app, &sign(&keys[0], &claims("ba-x", "x@example.com"))).await, "no keys to be had");
        let s = app.signup("own@example.com").await;
        me(&app, &s.access).await.ok();
    }

    async fn the_same_email_at_the_issuer_and_in_a_password_account_are_two_people(b: Backend) {
        let keys = all_keys();
        let issuer = Issuer::start(&keys).await;
        let app = app_for(b, &issuer).await;
        let password = app.signup("alice@example.com").await;
        let token = sign(&keys[0], &claims("ba-alice", "Alice@Example.com"));
        let external = me(&app, &token).await;
        assert_ne!(external.ok()["me"]["id"], password.user_id.as_str());
        let theirs = app.create_task(&password.access, "password task").await;
        let r = app.gql(Some(&token), "query($id: ID!) { task(id: $id) { id } }", json!({ "id": theirs })).await;
        r.assert_code("NOT_FOUND");
        let r = app.gql(Some(&token), "{ tasks { totalCount } }", json!({})).await;
        assert_eq!(r.ok()["tasks"]["totalCount"], 0);
        // Password login still reaches the password account only.
        let r = app.gql(None, "mutation { login(input: {email: \"alice@example.com\", password: \"correct horse battery\"}) { user { id } } }", json!({})).await;
        assert_eq!(r.ok()["login"]["user"]["id"], password.user_id.as_str());
        // And sign-up of another external email never conflicts with them.
        app.signup("bob@example.com").await;
        me(&app, &sign(&keys[0], &claims("ba-bob", "bob@example.com"))).await.ok();
    }

    async fn ten_simultaneous_first_requests_make_one_user(b: Backend) {
        let keys = all_keys();
        let issuer = Issuer::start(&keys).await;
        let app = app_for(b, &issuer).await;
        me(&app, &sign(&keys[0], &claims("ba-warmup", "warm@example.com"))).await.ok();
        let token = sign(&keys[0], &claims("ba-race", "race@example.com"));
        let results = futures::future::join_all((0..10).map(|_| me(&app, &token))).await;
        let ids: std::collections::BTreeSet<String> =
            results.iter().map(|r| r.ok()["me"]["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 1, "{ids:?}");
    }

    async fn email_and_name_follow_the_latest_token(b: Backend) {
        let keys = all_keys();
        let issuer = Issuer::start(&keys).await;
        let app = app_for(b, &issuer).await;
        let k = &keys[0];
        let mut c = claims("ba-follow", "first@example.com");
        let id = me(&app, &sign(k, &c)).await.ok()["me"]["id"].clone();
        c["email"] = json!("Second@Example.com");
        c["name"] = json!("Ada Lovelace");
        let r = me(&app, &sign(k, &c)).await;
        assert_eq!(r.ok()["me"], json!({ "id": id, "email": "second@example.com", "name": "Ada Lovelace" }));
        c.as_object_mut().unwrap().remove("name");
        let r = me(&app, &sign(k, &c)).await;
        assert_eq!(r.ok()["me"]["name"], "Ada Lovelace", "no name claim leaves the name");
    }

    async fn external_users_have_no_password_or_refresh_token_here(b: Backend) {
        let keys = all_keys();
        let issuer = Issuer::start(&keys).await;
        let app = app_for(b, &issuer).await;
        let token = sign(&keys[0], &claims("ba-ext", "ext@example.com"));
        let first_id = me(&app, &token).await.ok()["me"]["id"].clone();
        app.create_task(&token, "mine").await;
        let r = app.gql(Some(&token), "mutation { changePassword(input: {currentPassword: \"x\", newPassword: \"new password 1\"}) { accessToken } }", json!({})).await;
        r.assert_code("BAD_USER_INPUT");
        assert!(r.message().unwrap().contains("identity provider"));
        let s = app.signup("own@example.com").await;
        let r = app.gql(Some(&token), "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", json!({ "t": s.refresh })).await;
        r.assert_code("BAD_USER_INPUT");
        let r = app.gql(None, "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", json!({ "t": token })).await;
        r.assert_code("BAD_USER_INPUT");
        let r = app.gql(Some(&token), "mutation { logout }", json!({})).await;
        assert_eq!(r.ok()["logout"], true);
        let r = app.gql(Some(&token), "mutation { deleteAccount(password: \"ignored\") }", json!({})).await;
        assert_eq!(r.ok()["deleteAccount"], true);
        // A later token makes a fresh, empty account.
        let r = me(&app, &token).await;
        assert_ne!(r.ok()["me"]["id"], first_id);
        let r = app.gql(Some(&token), "{ tasks { totalCount } }", json!({})).await;
        assert_eq!(r.ok()["tasks"]["totalCount"], 0);
    }

    async fn tokens_signed_with_a_previous_secret_work_until_they_expire(b: Backend) {
        let old = TestApp::spawn(b.clone()).await;
        let s = old.signup("alice@example.com").await;
        let mut old = old;
        old.stop().await;
        let config = old.config.clone();
        let dir = std::mem::replace(&mut old.dir, tempfile::tempdir().unwrap());
        let new_secret = "new-secret-new-secret-new-secret-new-secret";
        let mut rotated_config = config.clone();
        rotated_config.jwt_secret = Some(new_secret.into());
        rotated_config.jwt_previous_secrets = vec![SECRET.into()];
        let rotated = TestApp::start(rotated_config, dir, None).await;
        me(&rotated, &s.access).await.ok();
        let r = rotated.gql(None, "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", json!({ "t": s.refresh })).await;
        let fresh = r.ok()["refreshToken"]["accessToken"].as_str().unwrap().to_owned();
        let old_kid = jsonwebtoken::decode_header(&s.access).unwrap().kid;
        let new_kid = jsonwebtoken::decode_header(&fresh).unwrap().kid;
        assert_ne!(old_kid, new_kid, "new tokens use the new secret");
        me(&rotated, &fresh).await.ok();
        // The old secret signs nothing new, and without it old tokens are refused.
        let mut rotated = rotated;
        rotated.stop().await;
        let mut bare_config = config;
        bare_config.jwt_secret = Some(new_secret.into());
        let dir = std::mem::replace(&mut rotated.dir, tempfile::tempdir().unwrap());
        let bare = TestApp::start(bare_config, dir, None).await;
        assert_401(&me(&bare, &s.access).await, "unknown own kid");
        me(&bare, &fresh).await.ok();
        drop(old);
    }
}

/// Longer than the 5 s refetch floor.
pub const REFETCH_WAIT: Duration = Duration::from_millis(5200);

#[test]
fn bad_external_settings_stop_start_up_with_one_line() {
    let run = |env: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_todo-graphql"))
            .current_dir(dir.path())
            .env_clear()
            .env("BIND_ADDR", "127.0.0.1:0")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{env:?} must be refused");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        errors[0].to_owned()
    };
    let url = ("AUTH_JWKS_URL", "http://127.0.0.1:9/jwks");
    let iss = ("AUTH_EXTERNAL_ISSUER", "http://ba.test");
    let aud = ("AUTH_EXTERNAL_AUDIENCE", "http://ba.test");
    assert!(run(&[url, aud]).contains("AUTH_EXTERNAL_ISSUER"));
    assert!(run(&[url, iss]).contains("AUTH_EXTERNAL_AUDIENCE"));
    assert!(run(&[iss, aud]).contains("AUTH_JWKS_URL"));
    assert!(run(&[url, iss, aud, ("AUTH_EXTERNAL_ALGORITHMS", "EdDSA,HS256")]).contains("HS256"));
    assert!(run(&[url, iss, aud, ("AUTH_EXTERNAL_ALGORITHMS", "none")]).contains("none"));
    assert!(run(&[url, iss, aud, ("AUTH_EXTERNAL_ALGORITHMS", "ES512")]).contains("ES512"));
    assert!(run(&[url, ("AUTH_EXTERNAL_ISSUER", "todo-graphql"), aud]).contains("JWT_ISSUER"));
    assert!(run(&[("JWT_PREVIOUS_SECRETS", "short")]).contains("JWT_PREVIOUS_SECRETS"));
}
