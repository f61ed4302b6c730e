//! Fuzzes the `Authorization` header parser and token verification: no
//! input may panic, and none may verify without the secret.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use todo_graphql::auth::Keys;

static KEYS: OnceLock<Keys> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let keys = KEYS.get_or_init(|| {
        Keys::new(b"fuzz-secret-fuzz-secret-fuzz-secret-0000", "todo-graphql", "todo-graphql", 900, 1_209_600)
    });
    if let Ok(value) = http::HeaderValue::from_bytes(data) {
        if let Ok(Some(token)) = todo_graphql::http::caller::bearer(std::iter::once(&value)) {
            assert!(keys.verify_access(token).is_err(), "random bytes verified as a token");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(keys.verify_access(text).is_err());
        assert!(keys.verify_refresh(text).is_err());
    }
});
