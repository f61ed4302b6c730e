//! Input validation of CONTRACT §5: every refusal is `BAD_USER_INPUT` with
//! the input field named, and nothing is stored.

use serde_json::json;

use crate::both_backends;
use crate::helpers::{TestApp, PASSWORD};

const SIGNUP: &str = "mutation($i: SignupInput!) { signup(input: $i) { user { id } } }";
const CREATE: &str = "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }";

both_backends! {
    async fn surrounding_whitespace_of_an_email_is_trimmed_before_any_check(b: Backend) {
        let app = TestApp::spawn(b).await;
        let r = app.gql(None, SIGNUP, json!({ "i": { "email": "\talice@example.com\t\n", "password": PASSWORD } })).await;
        assert!(r.ok()["signup"]["user"]["id"].is_string());
        let login = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { user { email } } }";
        for spelling in ["alice@example.com", "\u{3000}ALICE@example.com\r\n", " alice@example.com\t"] {
            let r = app.gql(None, login, json!({ "e": spelling, "p": PASSWORD })).await;
            assert_eq!(r.ok()["login"]["user"]["email"], "alice@example.com", "{spelling:?}");
        }
        // Inside the address a tab is still refused.
        let r = app.gql(None, SIGNUP, json!({ "i": { "email": "bob\t@example.com", "password": PASSWORD } })).await;
        r.assert_code("BAD_USER_INPUT");
    }

    async fn bad_signup_input_names_the_field_and_creates_nothing(b: Backend) {
        let app = TestApp::spawn(b).await;
        let local65 = format!("{}@example.com", "a".repeat(65));
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        let cases = [
            (json!({ "email": "no-at-sign", "password": PASSWORD }), "email"),
            (json!({ "email": "two@@example.com", "password": PASSWORD }), "email"),
            (json!({ "email": "a@b@example.com", "password": PASSWORD }), "email"),
            (json!({ "email": "nodot@localhost", "password": PASSWORD }), "email"),
            (json!({ "email": "@example.com", "password": PASSWORD }), "email"),
            (json!({ "email": "", "password": PASSWORD }), "email"),
            (json!({ "email": local65, "password": PASSWORD }), "email"),
            (json!({ "email": long, "password": PASSWORD }), "email"),
            (json!({ "email": "zero\u{200B}width@example.com", "password": PASSWORD }), "email"),
            (json!({ "email": "bell\u{7}@example.com", "password": PASSWORD }), "email"),
            (json!({ "email": "bom\u{FEFF}@example.com", "password": PASSWORD }), "email"),
            (json!({ "email": "ok@example.com", "password": "1234567" }), "password"),
            (json!({ "email": "ok@example.com", "password": "p".repeat(73) }), "password"),
            (json!({ "email": "ok@example.com", "password": "ä".repeat(37) }), "password"),
            (json!({ "email": "ok@example.com", "password": "password\u{0}123" }), "password"),
            (json!({ "email": "ok@example.com", "password": PASSWORD, "name": "n".repeat(101) }), "name"),
        ];
        for (input, field) in cases {
            let r = app.gql(None, SIGNUP, json!({ "i": input })).await;
            r.assert_code("BAD_USER_INPUT");
            assert_eq!(r.field(), Some(field), "{input}");
            assert_eq!(r.status, 200);
        }
        // None of those made an account: ok@example.com is still free.
        app.signup("ok@example.com").await;
        // The limits themselves are accepted.
        let edge = format!("{}@example.com", "a".repeat(64));
        let r = app.gql(None, SIGNUP, json!({ "i": { "email": edge, "password": "12345678", "name": "n".repeat(100) } })).await;
        r.ok();
    }

    async fn bad_task_input_names_the_field_and_stores_nothing(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        for (input, field) in [
            (json!({ "title": "" }), "title"),
            (json!({ "title": "   \t " }), "title"),
            (json!({ "title": "t".repeat(201) }), "title"),
            (json!({ "title": "ok", "description": "d".repeat(2001) }), "description"),
        ] {
            let r = app.gql(Some(&s.access), CREATE, json!({ "i": input })).await;
            r.assert_code("BAD_USER_INPUT");
            assert_eq!(r.field(), Some(field));
        }
        let r = app.gql(Some(&s.access), CREATE, json!({ "i": { "title": format!("  {}  ", "é".repeat(200)), "description": "d".repeat(2000) } })).await;
        r.ok();
        let list = app.gql(Some(&s.access), "{ tasks { totalCount } }", json!({})).await;
        assert_eq!(list.ok()["tasks"]["totalCount"], 1);
        let id = app.create_task(&s.access, "x").await;
        let r = app.gql(Some(&s.access), "mutation($id: ID!, $i: UpdateTaskInput!) { updateTask(id: $id, input: $i) { id } }",
            json!({ "id": id, "i": { "description": "d".repeat(2001) } })).await;
        r.assert_code("BAD_USER_INPUT");
        assert_eq!(r.field(), Some("description"));
    }

    async fn a_wrongly_typed_variable_is_a_client_error_with_a_code(b: Backend) {
        let app = TestApp::spawn(b).await;
        let s = app.signup("alice@example.com").await;
        let r = app.gql(Some(&s.access), "query($n: Int) { tasks(first: $n) { totalCount } }", json!({ "n": "ten" })).await;
        assert!(matches!(r.code(), Some("BAD_USER_INPUT") | Some("GRAPHQL_VALIDATION_FAILED")), "{}", r.body);
    }
}
