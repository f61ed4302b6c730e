//! GraphQL over HTTP: `POST /graphql` (JSON, single or batch) and
//! `GET /graphql` (queries only), with CONTRACT §5's status rules.

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, Request, Value};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{ACCEPT, ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::caller::ResolvedCaller;
use super::{graphiql, AppState};
use crate::graphql::document_guard;
use crate::graphql::error::{code, Code};
use crate::graphql::response::{self, Outcome};
use crate::graphql::RequestMeta;

/// The response media type of the GraphQL-over-HTTP specification.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// `POST /graphql`: a JSON body only; anything a form could send
/// cross-site is refused with 415 before it is read.
pub async fn post(State(state): State<AppState>, caller: ResolvedCaller, headers: HeaderMap, body: Bytes) -> Response {
    let media = Media::of(&headers);
    if !is_json(&headers) {
        return request_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send GraphQL requests as application/json", media);
    }
    // Nesting is bounded before serde (and everything after it) recurses.
    if let Err(refusal) = document_guard::check_json_nesting(&body) {
        return request_error(StatusCode::BAD_REQUEST, &refusal.to_string(), media);
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            return request_error(StatusCode::BAD_REQUEST, &format!("The body is not a GraphQL request: {e}"), media)
        }
    };
    // A request without a `query` is not a GraphQL request (its parameters
    // are invalid): 400, whatever the media type.
    if batch.iter().any(|r| r.query.is_empty()) {
        return request_error(StatusCode::BAD_REQUEST, "A GraphQL request needs a non-empty `query`", media);
    }
    match batch {
        BatchRequest::Single(request) => execute(&state, caller, request, media).await,
        BatchRequest::Batch(mut requests) => {
            if requests.is_empty() || requests.len() > state.max_batch {
                let message = format!("A batch holds 1 to {} operations", state.max_batch);
                return request_error(StatusCode::BAD_REQUEST, &message, media);
            }
            let prepared = response::prepare_batch(&state.guard, &mut requests);
            let mut outcomes = Vec::with_capacity(requests.len());
            for (request, prepared) in requests.into_iter().zip(prepared) {
                let outcome = match prepared {
                    Err(refusal) => Outcome::refused(refusal),
                    Ok(prepared) => {
                        let meta =
                            RequestMeta { client: caller.client.clone(), operation: request.operation_name.clone() };
                        let request = request.data(caller.caller.clone()).data(meta);
                        response::execute(&state.schema, &state.guard, &state.metrics, request, &prepared).await
                    }
                };
                response::count_errors(&state.metrics, &outcome);
                outcomes.push(outcome);
            }
            let bodies: Vec<_> = outcomes.iter().map(Outcome::body).collect();
            json_response(StatusCode::OK, &bodies, media)
        }
    }
}

/// `GET /graphql`: the IDE for a browser, else a query from the query
/// string. Mutations are refused with 405: GET must never change anything.
pub async fn get(
    State(state): State<AppState>,
    caller: ResolvedCaller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let media = Media::of(&headers);
    let query = query.unwrap_or_default();
    if query.is_empty() {
        if state.graphiql && accepts_html(&headers) {
            return graphiql::page().await;
        }
        return request_error(StatusCode::BAD_REQUEST, "Send a GraphQL query in the `query` parameter", media);
    }
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(e) => return request_error(StatusCode::BAD_REQUEST, &format!("Bad GraphQL query string: {e}"), media),
    };
    if state.guard.operation_type(&request) == Some(OperationType::Mutation) {
        let mut response = request_error(StatusCode::METHOD_NOT_ALLOWED, "Mutations must be sent with POST", media);
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, caller, request, media).await
}

async fn execute(state: &AppState, caller: ResolvedCaller, request: Request, media: Media) -> Response {
    let operation = request.operation_name.clone();
    tracing::Span::current().record("operation", operation.as_deref().unwrap_or("-"));
    let meta = RequestMeta { client: caller.client, operation };
    let request = request.data(caller.caller).data(meta);
    let outcome = response::run(&state.schema, &state.guard, &state.metrics, request).await;
    response::count_errors(&state.metrics, &outcome);
    let status = status_of(&outcome, caller.anonymous, media);
    let retry = retry_after(outcome.errors());
    let mut http = json_response(status, &outcome.body(), media);
    match status {
        StatusCode::UNAUTHORIZED => {
            http.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::FORBIDDEN => {
            let challenge =
                format!("Bearer error=\"insufficient_scope\", scope=\"{}\"", required_scope(outcome.errors()));
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                http.headers_mut().insert(WWW_AUTHENTICATE, v);
            }
        }
        StatusCode::TOO_MANY_REQUESTS => {
            let secs = retry.unwrap_or(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                http.headers_mut().insert(RETRY_AFTER, v);
            }
        }
        _ => {}
    }
    http
}

/// CONTRACT §5: 401 for an anonymous request that got only
/// `UNAUTHENTICATED`, 429 for only `TOO_MANY_REQUESTS`, both with no
/// data; 400 for a request error under `application/graphql-response+json`.
fn status_of(outcome: &Outcome, anonymous: bool, media: Media) -> StatusCode {
    if let Outcome::BadRequest(_) = outcome {
        return StatusCode::BAD_REQUEST;
    }
    let errors = outcome.errors();
    if errors.is_empty() || outcome.data().is_some_and(has_data) {
        return StatusCode::OK;
    }
    let all = |c: Code| errors.iter().all(|e| code(e) == Some(c));
    if anonymous && all(Code::Unauthenticated) {
        return StatusCode::UNAUTHORIZED;
    }
    if all(Code::TooManyRequests) {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    if !anonymous && all(Code::Forbidden) {
        return StatusCode::FORBIDDEN;
    }
    if media == Media::GraphqlResponse && outcome.is_refused() {
        return StatusCode::BAD_REQUEST;
    }
    StatusCode::OK
}

/// Data counts when some top-level field is not null.
fn has_data(data: &Value) -> bool {
    match data {
        Value::Object(fields) => fields.values().any(|v| *v != Value::Null),
        Value::Null => false,
        _ => true,
    }
}

/// RFC 6750 §3.1's `scope`: the first rule's scopes, space-separated.
fn required_scope(errors: &[async_graphql::ServerError]) -> String {
    let first = errors.iter().find_map(|e| match e.extensions.as_ref()?.get("requiredScopes")? {
        Value::List(any_of) => any_of.first().cloned(),
        _ => None,
    });
    match first {
        Some(Value::List(all)) => all
            .iter()
            .filter_map(|s| match s {
                Value::String(s) => Some(s.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn retry_after(errors: &[async_graphql::ServerError]) -> Option<u64> {
    errors
        .iter()
        .filter_map(|e| match e.extensions.as_ref()?.get("retryAfter")? {
            Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .max()
}

/// Which JSON media type the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    GraphqlResponse,
}

impl Media {
    fn of(headers: &HeaderMap) -> Self {
        let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        if accept.contains(GRAPHQL_RESPONSE_JSON) {
            Self::GraphqlResponse
        } else {
            Self::Json
        }
    }

    fn header(self) -> HeaderValue {
        match self {
            Self::Json => HeaderValue::from_static("application/json"),
            Self::GraphqlResponse => HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json") || essence.eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON)
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

fn json_response(status: StatusCode, body: &impl serde::Serialize, media: Media) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(CONTENT_TYPE, media.header())], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "serialising a GraphQL response failed");
            request_error(StatusCode::INTERNAL_SERVER_ERROR, crate::graphql::error::INTERNAL_MESSAGE, media)
        }
    }
}

/// A GraphQL-shaped error for a request that never reached execution.
fn request_error(status: StatusCode, message: &str, media: Media) -> Response {
    let error_code = match status {
        StatusCode::INTERNAL_SERVER_ERROR => Code::InternalServerError,
        _ => Code::BadRequest,
    };
    let body = crate::graphql::error::error_body(message, error_code);
    (status, [(CONTENT_TYPE, media.header())], body.to_string()).into_response()
}
