//! The one place where errors become CONTRACT §5 codes. Every error we
//! make carries its [`Code`] typed (as the error's `source`) and spelled
//! (as `extensions.code`); statuses are decided from the typed one.

use async_graphql::{ErrorExtensionValues, ServerError};
use std::sync::Arc;

use crate::service::ServiceError;

/// The error codes of CONTRACT §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    TooManyRequests,
    InternalServerError,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    /// Not a GraphQL request at all (bad JSON, too large a batch).
    BadRequest,
    /// `operationName` names no operation of the document.
    OperationResolutionFailure,
}

impl Code {
    /// The spelling clients read in `extensions.code`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::Conflict => "CONFLICT",
            Code::TooManyRequests => "TOO_MANY_REQUESTS",
            Code::InternalServerError => "INTERNAL_SERVER_ERROR",
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::BadRequest => "BAD_REQUEST",
            Code::OperationResolutionFailure => "OPERATION_RESOLUTION_FAILURE",
        }
    }
}

/// The typed code of an error, when one of ours made it.
pub fn code(error: &ServerError) -> Option<Code> {
    error.source::<Code>().copied()
}

/// The message of every unexpected failure.
pub const INTERNAL_MESSAGE: &str = "Internal server error";

/// A server error with a code, for errors raised outside resolvers.
pub fn server_error(message: impl Into<String>, code: Code) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.source = Some(Arc::new(code));
    error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code.as_str());
    error
}

fn with_code(mut error: async_graphql::Error, code: Code, field: Option<&str>) -> async_graphql::Error {
    error.source = Some(Arc::new(code));
    let ext = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
    ext.set("code", code.as_str());
    if let Some(field) = field {
        ext.set("field", field);
    }
    error
}

/// The client's view of a service error; unexpected ones are logged here
/// with their detail and shown as "Internal server error".
pub fn to_graphql(error: ServiceError) -> async_graphql::Error {
    let (code, field) = match &error {
        ServiceError::Unauthenticated | ServiceError::InvalidCredentials | ServiceError::InvalidRefreshToken { .. } => {
            (Code::Unauthenticated, None)
        }
        ServiceError::NotFound | ServiceError::ApiTokenNotFound => (Code::NotFound, None),
        ServiceError::BadInput { field, .. } => (Code::BadUserInput, Some(*field)),
        ServiceError::Conflict { field, .. } => (Code::Conflict, Some(*field)),
        ServiceError::TooManyRequests { retry_after } => {
            let mut e = with_code(async_graphql::Error::new(error.to_string()), Code::TooManyRequests, None);
            if let Some(ext) = e.extensions.as_mut() {
                ext.set("retryAfter", *retry_after);
            }
            return e;
        }
        ServiceError::Database(_) | ServiceError::Hash(_) | ServiceError::Token(_) | ServiceError::Random(_) => {
            tracing::error!(error = %error, "request failed");
            return with_code(async_graphql::Error::new(INTERNAL_MESSAGE), Code::InternalServerError, None);
        }
    };
    with_code(async_graphql::Error::new(error.to_string()), code, field)
}

/// A guarded field asked without a token.
pub fn unauthenticated(message: &str) -> async_graphql::Error {
    with_code(async_graphql::Error::new(message), Code::Unauthenticated, None)
}

/// A signed-in caller whose token lacks what a field's rule requires;
/// `extensions.requiredScopes` is that rule (CONTRACT §10).
pub fn forbidden(any_of: &[&[crate::auth::Scope]]) -> async_graphql::Error {
    let wanted: Vec<String> =
        any_of.iter().map(|all| all.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" and ")).collect();
    let message = format!("Forbidden: this field needs the scope {}", wanted.join(", or "));
    let mut error = with_code(async_graphql::Error::new(message), Code::Forbidden, None);
    let list = async_graphql::Value::List(
        any_of
            .iter()
            .map(|all| async_graphql::Value::List(all.iter().map(|s| async_graphql::Value::from(s.as_str())).collect()))
            .collect(),
    );
    if let Some(ext) = error.extensions.as_mut() {
        ext.set("requiredScopes", list);
    }
    error
}

/// `.gql()` on a service result: the only way resolvers turn service
/// errors into GraphQL errors.
pub trait ServiceResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> ServiceResultExt<T> for Result<T, ServiceError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(to_graphql)
    }
}

/// A refusal of the document guard as the error a client sees.
impl From<super::document_guard::Refusal> for ServerError {
    fn from(refusal: super::document_guard::Refusal) -> Self {
        use super::document_guard::Refusal;
        let (message, pos, code) = match refusal {
            Refusal::Parse { message, pos } => (message, pos, Code::GraphqlParseFailed),
            Refusal::Validation { message, pos } => (message, pos, Code::GraphqlValidationFailed),
            Refusal::OperationResolution(message) => (message, None, Code::OperationResolutionFailure),
            Refusal::BadRequest(message) => (message, None, Code::BadRequest),
        };
        ServerError { locations: pos.into_iter().collect(), ..server_error(message, code) }
    }
}

/// The JSON body of a request refused before GraphQL ran: one error with
/// `message` and `extensions.code`.
pub fn error_body(message: &str, code: Code) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] })
}

/// At most this many errors in one response (CONTRACT §7).
pub const MAX_ERRORS: usize = 100;
/// At most this many bytes of error messages in one response.
pub const MAX_ERROR_BYTES: usize = 1024 * 1024;

/// Keeps a response's errors within [`MAX_ERRORS`] and [`MAX_ERROR_BYTES`]:
/// whatever a document holds, the answer stays small.
pub fn cap_errors(errors: &mut Vec<ServerError>) {
    let mut bytes = 0usize;
    let keep = errors
        .iter()
        .take(MAX_ERRORS)
        .take_while(|e| {
            bytes = bytes.saturating_add(e.message.len() + 64);
            bytes <= MAX_ERROR_BYTES
        })
        .count();
    if keep < errors.len() {
        errors.truncate(keep.saturating_sub(1));
        let first = errors.first().and_then(code).unwrap_or(Code::GraphqlValidationFailed);
        errors.push(server_error(format!("Too many errors; the first {} are shown.", errors.len()), first));
    }
}

/// Every error of an executed response has a code: one without is a bug
/// of ours, logged with its message and shown as "Internal server error".
pub fn ensure_codes(errors: &mut [ServerError]) {
    for error in errors.iter_mut().filter(|e| code(e).is_none()) {
        tracing::error!(message = %error.message, path = ?error.path, "an error reached the edge without a code");
        *error = ServerError {
            path: std::mem::take(&mut error.path),
            locations: std::mem::take(&mut error.locations),
            ..server_error(INTERNAL_MESSAGE, Code::InternalServerError)
        };
    }
}

/// Gives an error async-graphql raised (it has no code of ours) its code.
pub fn set_code(error: &mut ServerError, code: Code) {
    error.source = Some(Arc::new(code));
    error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_without_a_code_becomes_an_internal_error_in_place() {
        let mut errors = vec![
            ServerError {
                path: vec![async_graphql::PathSegment::Field("a".into())],
                ..ServerError::new("db detail", None)
            },
            server_error("Invalid email or password", Code::Unauthenticated),
        ];
        ensure_codes(&mut errors);
        assert_eq!(errors[0].message, INTERNAL_MESSAGE);
        assert_eq!(code(&errors[0]), Some(Code::InternalServerError));
        assert_eq!(errors[0].path, vec![async_graphql::PathSegment::Field("a".into())]);
        assert_eq!(code(&errors[1]), Some(Code::Unauthenticated));
    }

    #[test]
    fn too_many_errors_are_cut_to_the_cap() {
        let mut errors: Vec<_> =
            (0..500).map(|i| server_error(format!("e{i}"), Code::GraphqlValidationFailed)).collect();
        cap_errors(&mut errors);
        assert_eq!(errors.len(), MAX_ERRORS);
        let mut big: Vec<_> = (0..50).map(|_| server_error("x".repeat(100_000), Code::BadUserInput)).collect();
        cap_errors(&mut big);
        assert!(big.iter().map(|e| e.message.len()).sum::<usize>() <= MAX_ERROR_BYTES);
    }
}
