//! Sign-up, login, refresh, logout, password change, account deletion
//! (CONTRACT §3, §5, §6).

use serde_json::json;

use crate::both_backends;
use crate::helpers::{TestApp, PASSWORD};

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken refreshToken tokenType expiresIn user { id email } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { id } } }";
const ME: &str = "{ me { id email name createdAt } }";

both_backends! {
    async fn signup_returns_a_bearer_pair_and_the_normalised_user(b: Backend) {
        let app = TestApp::spawn(b).await;
        let r = app.gql(None,
            "mutation { signup(input: {email: \"  Alice@Example.COM \", password: \"correct horse battery\", name: \"Alice\"}) { accessToken refreshToken tokenType expiresIn user { id email name createdAt } } }",
            json!({})).await;
        let p = &r.ok()["signup"];
        assert_eq!(p["tokenType"], "Bearer");
        assert_eq!(p["expiresIn"], 900);
        assert_eq!(p["user"]["email"], "alice@example.com");
        assert_eq!(p["user"]["name"], "Alice");
        assert!(uuid::Uuid::parse_str(p["user"]["id"].as_str().unwrap()).is_ok());
        let created = p["user"]["createdAt"].as_str().unwrap();
        assert!(created.ends_with('Z') && created.len() == 24, "millisecond UTC: {created}");
        assert_ne!(p["accessToken"], p["refreshToken"]);
    }

    async fn login_works_with_any_spelling_of_the_email(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        for email in ["alice@example.com", " ALICE@example.COM ", "ａｌｉｃｅ@example.com"] {
            let r = app.gql(None, LOGIN, json!({ "e": email, "p": PASSWORD })).await;
            assert_eq!(r.ok()["login"]["user"]["id"], s.user_id.as_str(), "{email}");
        }
    }

    async fn one_email_in_any_spelling_is_one_account(b: Backend) {
        let app = TestApp::spawn(b).await;
        app.signup("alice@example.com").await;
        for email in ["Alice@Example.COM", " alice@example.com ", "ａｌｉｃｅ@example.com"] {
            let r = app.gql(None, "mutation($e: String!) { signup(input: {email: $e, password: \"correct horse battery\"}) { accessToken } }", json!({ "e": email })).await;
            r.assert_code("CONFLICT");
            assert_eq!(r.status, 200);
        }
    }

    async fn ten_simultaneous_signups_make_one_account_and_nine_conflicts(b: Backend) {
        let app = TestApp::spawn(b).await;
        let attempts = (0..10).map(|_| app.gql(None,
            "mutation { signup(input: {email: \"race@example.com\", password: \"correct horse battery\"}) { user { id } } }",
            json!({})));
        let results = futures::future::join_all(attempts).await;
        let ok = results.iter().filter(|r| r.code().is_none()).count();
        let conflicts = results.iter().filter(|r| r.code() == Some("CONFLICT")).count();
        assert_eq!((ok, conflicts), (1, 9), "{:?}", results.iter().map(|r| &r.body).collect::<Vec<_>>());
    }

    async fn a_wrong_password_and_an_unknown_email_read_the_same(b: Backend) {
        let app = TestApp::spawn(b).await;
        app.signup("alice@example.com").await;
        let wrong = app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": "not the password" })).await;
        let unknown = app.gql(None, LOGIN, json!({ "e": "nobody@example.com", "p": PASSWORD })).await;
        for r in [&wrong, &unknown] {
            r.assert_code("UNAUTHENTICATED");
            assert_eq!(r.message(), Some("Invalid email or password"));
            assert_eq!(r.status, 401);
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        }
        assert_eq!(wrong.body, unknown.body);
    }

    async fn an_unknown_email_costs_one_bcrypt_check_like_a_wrong_password(b: Backend) {
        let app = TestApp::spawn(b).await;
        app.signup("alice@example.com").await;
        let checks = || app.services.accounts.passwords().verifications();
        let before = checks();
        app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": "wrong password" })).await.assert_code("UNAUTHENTICATED");
        assert_eq!(checks() - before, 1, "a wrong password: one check");
        app.gql(None, LOGIN, json!({ "e": "nobody@example.com", "p": "wrong password" })).await.assert_code("UNAUTHENTICATED");
        assert_eq!(checks() - before, 2, "an unknown email: one check against the dummy hash");
        app.gql(None, LOGIN, json!({ "e": "not an email", "p": "x" })).await.assert_code("UNAUTHENTICATED");
        assert_eq!(checks() - before, 3, "malformed input: still one check");
    }

    async fn a_password_longer_than_72_bytes_never_logs_in_truncated(b: Backend) {
        let app = TestApp::spawn(b).await;
        let exact = "p".repeat(72);
        let r = app.gql(None, "mutation($p: String!) { signup(input: {email: \"long@example.com\", password: $p}) { accessToken } }", json!({ "p": exact })).await;
        r.ok();
        let longer = format!("{exact}extra");
        let r = app.gql(None, LOGIN, json!({ "e": "long@example.com", "p": longer })).await;
        r.assert_code("UNAUTHENTICATED");
        let r = app.gql(None, LOGIN, json!({ "e": "long@example.com", "p": exact })).await;
        r.ok();
    }

    async fn me_returns_the_caller(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let r = app.gql(Some(&s.access), ME, json!({})).await;
        assert_eq!(r.ok()["me"]["id"], s.user_id.as_str());
        assert_eq!(r.data()["me"]["email"], s.email.as_str());
        assert!(r.data()["me"].get("passwordHash").is_none());
    }

    async fn refresh_token_returns_a_new_working_pair(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let r = app.gql(None, REFRESH, json!({ "t": s.refresh })).await;
        let p = &r.ok()["refreshToken"];
        assert_eq!(p["user"]["id"], s.user_id.as_str());
        let access = p["accessToken"].as_str().unwrap();
        app.gql(Some(access), ME, json!({})).await.ok();
        // The new refresh token works too.
        let again = app.gql(None, REFRESH, json!({ "t": p["refreshToken"] })).await;
        again.ok();
    }

    async fn an_access_token_or_garbage_is_not_a_refresh_token(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        for t in [s.access.as_str(), "garbage", ""] {
            let r = app.gql(None, REFRESH, json!({ "t": t })).await;
            r.assert_code("UNAUTHENTICATED");
            assert_eq!(r.status, 401);
        }
    }

    async fn logout_ends_every_refresh_token_of_the_user(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let other = app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": PASSWORD })).await;
        let other_refresh = other.ok()["login"]["refreshToken"].as_str().unwrap().to_owned();
        let r = app.gql(Some(&s.access), "mutation { logout }", json!({})).await;
        assert_eq!(r.ok()["logout"], true);
        for t in [&s.refresh, &other_refresh] {
            app.gql(None, REFRESH, json!({ "t": t })).await.assert_code("UNAUTHENTICATED");
        }
        // Access tokens are stateless: they lapse within their lifetime.
        app.gql(Some(&s.access), ME, json!({})).await.ok();
        // A new login works and gives a working refresh token.
        let again = app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": PASSWORD })).await;
        let fresh = again.ok()["login"]["refreshToken"].as_str().unwrap().to_owned();
        app.gql(None, REFRESH, json!({ "t": fresh })).await.ok();
    }

    async fn change_password_needs_the_current_one_and_ends_other_sessions(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let change = "mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { accessToken refreshToken } }";
        let r = app.gql(Some(&s.access), change, json!({ "c": "wrong password", "n": "brand new password" })).await;
        r.assert_code("BAD_USER_INPUT");
        assert_eq!(r.field(), Some("currentPassword"));
        assert_eq!(r.status, 200);
        let r = app.gql(Some(&s.access), change, json!({ "c": PASSWORD, "n": "short" })).await;
        r.assert_code("BAD_USER_INPUT");
        assert_eq!(r.field(), Some("newPassword"));
        // Nothing changed so far.
        app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": PASSWORD })).await.ok();

        let r = app.gql(Some(&s.access), change, json!({ "c": PASSWORD, "n": "brand new password" })).await;
        let p = r.ok()["changePassword"].clone();
        app.gql(None, REFRESH, json!({ "t": s.refresh })).await.assert_code("UNAUTHENTICATED");
        app.gql(None, REFRESH, json!({ "t": p["refreshToken"] })).await.ok();
        app.gql(Some(p["accessToken"].as_str().unwrap()), ME, json!({})).await.ok();
        app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": PASSWORD })).await.assert_code("UNAUTHENTICATED");
        app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": "brand new password" })).await.ok();
    }

    async fn delete_account_needs_the_password_and_removes_everything(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let task = app.create_task(&s.access, "doomed").await;
        let del = "mutation($p: String!) { deleteAccount(password: $p) }";
        let r = app.gql(Some(&s.access), del, json!({ "p": "wrong password" })).await;
        r.assert_code("BAD_USER_INPUT");
        assert_eq!(r.field(), Some("password"));
        app.gql(Some(&s.access), ME, json!({})).await.ok();

        let r = app.gql(Some(&s.access), del, json!({ "p": PASSWORD })).await;
        assert_eq!(r.ok()["deleteAccount"], true);

        // The still-valid access token of the deleted account:
        app.gql(Some(&s.access), ME, json!({})).await.assert_code("UNAUTHENTICATED");
        let tasks = app.gql(Some(&s.access), "{ tasks { totalCount nodes { id } } }", json!({})).await;
        assert_eq!(tasks.ok()["tasks"]["totalCount"], 0);
        let q = format!("{{ task(id: \"{task}\") {{ id }} }}");
        app.gql(Some(&s.access), &q, json!({})).await.assert_code("NOT_FOUND");
        for m in [
            "mutation { createTask(input: {title: \"ghost\"}) { id } }".to_owned(),
            format!("mutation {{ updateTask(id: \"{task}\", input: {{title: \"x\"}}) {{ id }} }}"),
            format!("mutation {{ setTaskCompleted(id: \"{task}\", completed: true) {{ id }} }}"),
            format!("mutation {{ deleteTask(id: \"{task}\") }}"),
            "mutation { deleteTask(id: \"not-a-uuid\") }".to_owned(),
            "mutation { setTaskCompleted(id: \"not-a-uuid\", completed: true) { id } }".to_owned(),
            "mutation { logout }".to_owned(),
            "mutation { changePassword(input: {currentPassword: \"correct horse battery\", newPassword: \"another password\"}) { accessToken } }".to_owned(),
            "mutation { deleteAccount(password: \"correct horse battery\") }".to_owned(),
        ] {
            app.gql(Some(&s.access), &m, json!({})).await.assert_code("UNAUTHENTICATED");
        }
        app.gql(None, LOGIN, json!({ "e": "alice@example.com", "p": PASSWORD })).await.assert_code("UNAUTHENTICATED");
        app.gql(None, REFRESH, json!({ "t": s.refresh })).await.assert_code("UNAUTHENTICATED");
        // The email is free again.
        app.signup("alice@example.com").await;
    }
}
