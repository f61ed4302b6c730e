//! The one place where errors become CONTRACT §5 codes.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensionValues, Response, ServerError, ServerResult, ValidationResult, Variables};
use std::sync::Arc;

use crate::service::ServiceError;

/// `extensions.code` values of CONTRACT §5.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const TOO_MANY_REQUESTS: &str = "TOO_MANY_REQUESTS";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// Not a GraphQL request at all (bad JSON, too large a batch).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// `operationName` names no operation of the document.
    pub const OPERATION_RESOLUTION_FAILURE: &str = "OPERATION_RESOLUTION_FAILURE";
}

/// A refusal of the document guard as the error a client sees.
impl From<super::document_guard::Refusal> for ServerError {
    fn from(refusal: super::document_guard::Refusal) -> Self {
        use super::document_guard::Refusal;
        let (message, pos, error_code) = match refusal {
            Refusal::Parse { message, pos } => (message, pos, code::GRAPHQL_PARSE_FAILED),
            Refusal::Validation { message, pos } => (message, pos, code::GRAPHQL_VALIDATION_FAILED),
            Refusal::OperationResolution(message) => (message, None, code::OPERATION_RESOLUTION_FAILURE),
            Refusal::BadRequest(message) => (message, None, code::BAD_REQUEST),
        };
        ServerError { locations: pos.into_iter().collect(), ..server_error(message, error_code) }
    }
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
        let first = errors.first().and_then(code_of).unwrap_or(code::GRAPHQL_VALIDATION_FAILED).to_owned();
        errors.push(server_error(format!("Too many errors; the first {} are shown.", errors.len()), &first));
    }
}

/// The message of every unexpected failure.
pub const INTERNAL_MESSAGE: &str = "Internal server error";

/// The client's view of a service error; unexpected ones are logged here
/// with their detail and shown as "Internal server error".
pub fn to_graphql(error: ServiceError) -> async_graphql::Error {
    let (code, field) = match &error {
        ServiceError::Unauthenticated | ServiceError::InvalidCredentials | ServiceError::InvalidRefreshToken { .. } => {
            (code::UNAUTHENTICATED, None)
        }
        ServiceError::NotFound => (code::NOT_FOUND, None),
        ServiceError::BadInput { field, .. } => (code::BAD_USER_INPUT, Some(*field)),
        ServiceError::Conflict { field, .. } => (code::CONFLICT, Some(*field)),
        ServiceError::TooManyRequests { retry_after } => {
            let mut e = with_code(async_graphql::Error::new(error.to_string()), code::TOO_MANY_REQUESTS, None);
            if let Some(ext) = e.extensions.as_mut() {
                ext.set("retryAfter", *retry_after);
            }
            return e;
        }
        ServiceError::Database(_) | ServiceError::Hash(_) | ServiceError::Token(_) => {
            tracing::error!(error = %error, "request failed");
            return with_code(async_graphql::Error::new(INTERNAL_MESSAGE), code::INTERNAL_SERVER_ERROR, None);
        }
    };
    with_code(async_graphql::Error::new(error.to_string()), code, field)
}

fn with_code(mut error: async_graphql::Error, code: &str, field: Option<&str>) -> async_graphql::Error {
    let ext = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
    ext.set("code", code);
    if let Some(field) = field {
        ext.set("field", field);
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

/// A server error with a code, for errors raised outside resolvers.
pub fn server_error(message: impl Into<String>, error_code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", error_code);
    error
}

/// The JSON body of a request refused before GraphQL ran: one error with
/// `message` and `extensions.code`.
pub fn error_body(message: &str, error_code: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": error_code } }] })
}

/// The code of an error, if it has one.
pub fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(s) => Some(s.as_str()),
        _ => None,
    }
}

fn ensure_code(mut error: ServerError, fallback: &str) -> ServerError {
    if code_of(&error).is_none() {
        error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", fallback);
    }
    error
}

/// Gives every error async-graphql raises itself a code: parse failures,
/// validation failures (limits included) and argument coercion errors.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|e| ensure_code(e, code::GRAPHQL_PARSE_FAILED))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .await
            .map_err(|errors| errors.into_iter().map(|e| ensure_code(e, code::GRAPHQL_VALIDATION_FAILED)).collect())
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        // Resolver errors all carry codes; what is left is async-graphql's
        // own argument and variable coercion, which is the client's input.
        response.errors =
            std::mem::take(&mut response.errors).into_iter().map(|e| ensure_code(e, code::BAD_USER_INPUT)).collect();
        response
    }
}
