//! One GraphQL result as every transport sends it: a request refused
//! before execution has no `data` entry (GraphQL-over-HTTP), and no
//! response carries more errors than §7 allows.

use std::collections::BTreeMap;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError, Value};
use serde::Serialize;

use super::document_guard::{Cost, DocumentGuard, Prepared, Refusal};
use super::error::{cap_errors, code, ensure_codes, server_error, set_code, Code};
use super::nulls::propagate;
use super::shape::Shape;
use super::AppSchema;
use crate::telemetry::Metrics;
use tracing::Instrument as _;

/// What became of one request.
#[derive(Debug)]
pub enum Outcome {
    /// Refused before execution (parse, validation, limits, operation
    /// resolution): errors only, no `data`.
    Refused(Vec<ServerError>),
    /// Not a GraphQL request at all (variables nested past the bound):
    /// `BAD_REQUEST`, always HTTP 400.
    BadRequest(Vec<ServerError>),
    /// Executed: `data` (perhaps `null`) and field errors.
    Executed(Response),
}

impl Outcome {
    /// Sorts async-graphql's answer to a prepared request. The guard has
    /// parsed, bounded and resolved the operation already, so the only
    /// errors async-graphql raises before execution are its validation
    /// rules' (variables included): no data, and no error with a path,
    /// since every field error carries one. Those are typed here, once;
    /// otherwise every error gets a code and its place in `data`.
    pub fn of(mut response: Response, prepared: &Prepared, shape: &Shape) -> Self {
        cap_errors(&mut response.errors);
        if response.data == Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty())
        {
            for error in response.errors.iter_mut().filter(|e| code(e).is_none()) {
                set_code(error, Code::GraphqlValidationFailed);
            }
            return Self::Refused(response.errors);
        }
        ensure_codes(&mut response.errors);
        propagate(&mut response, prepared, shape);
        Self::Executed(response)
    }

    pub fn refused(refusal: Refusal) -> Self {
        match refusal {
            Refusal::BadRequest(_) => Self::BadRequest(vec![refusal.into()]),
            refusal => Self::Refused(vec![refusal.into()]),
        }
    }

    pub fn errors(&self) -> &[ServerError] {
        match self {
            Self::Refused(errors) | Self::BadRequest(errors) => errors,
            Self::Executed(response) => &response.errors,
        }
    }

    /// Whether it failed before execution (no `data`).
    pub fn is_refused(&self) -> bool {
        !matches!(self, Self::Executed(_))
    }

    /// The `data` entry: absent when refused.
    pub fn data(&self) -> Option<&Value> {
        match self {
            Self::Refused(_) | Self::BadRequest(_) => None,
            Self::Executed(response) => Some(&response.data),
        }
    }

    /// The JSON body of this result.
    pub fn body(&self) -> Body<'_> {
        match self {
            Self::Refused(errors) | Self::BadRequest(errors) => Body { data: None, errors, extensions: None },
            Self::Executed(r) => Body {
                data: Some(&r.data),
                errors: &r.errors,
                extensions: (!r.extensions.is_empty()).then_some(&r.extensions),
            },
        }
    }
}

/// The serialised shape of an [`Outcome`].
#[derive(Serialize)]
pub struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "Option::is_none")]
    extensions: Option<&'a BTreeMap<String, Value>>,
}

/// Guards and runs one query or mutation over HTTP.
pub async fn run(schema: &AppSchema, guard: &DocumentGuard, metrics: &Metrics, mut request: Request) -> Outcome {
    match guard.prepare(&mut request) {
        Ok(prepared) => execute(schema, guard, metrics, request, &prepared).await,
        Err(refusal) => Outcome::refused(refusal),
    }
}

/// Runs a prepared query or mutation over HTTP, in a span of its own; a
/// subscription is refused (it needs the WebSocket).
pub async fn execute(
    schema: &AppSchema,
    guard: &DocumentGuard,
    metrics: &Metrics,
    request: Request,
    prepared: &Prepared,
) -> Outcome {
    let kind = operation_type(prepared);
    let name = prepared.name();
    metrics.operation(kind, name);
    if kind == "subscription" {
        let message = "Subscriptions run over the WebSocket at /graphql (graphql-transport-ws)";
        return Outcome::BadRequest(vec![server_error(message, Code::BadRequest)]);
    }
    let span = operation_span(kind, name);
    Outcome::of(schema.execute(request).instrument(span).await, prepared, guard.shape())
}

/// `query`, `mutation` or `subscription`: the operation that runs.
pub fn operation_type(prepared: &Prepared) -> &'static str {
    match prepared.operation().map(|op| op.node.ty) {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        _ => "query",
    }
}

/// The span of one GraphQL operation (OpenTelemetry's GraphQL semantic
/// conventions); never the document's variables.
pub fn operation_span(kind: &'static str, name: Option<&str>) -> tracing::Span {
    let span = tracing::info_span!(
        "graphql.operation",
        otel.name = tracing::field::Empty,
        graphql.operation.type = kind,
        graphql.operation.name = tracing::field::Empty,
    );
    match name {
        Some(name) => {
            span.record("otel.name", format!("{kind} {name}"));
            span.record("graphql.operation.name", name);
        }
        None => {
            span.record("otel.name", kind);
        }
    }
    span
}

/// Counts the errors of `outcome` by code.
pub fn count_errors(metrics: &Metrics, outcome: &Outcome) {
    if metrics.is_on() {
        for error in outcome.errors() {
            metrics.error(code(error).unwrap_or(Code::InternalServerError).as_str());
        }
    }
}

/// Guards every request of a batch; their password-checking fields are
/// added up, since the batch is one request (§7).
pub fn prepare_batch(guard: &DocumentGuard, requests: &mut [Request]) -> Vec<Result<Prepared, Refusal>> {
    let prepared: Vec<_> = requests.iter_mut().map(|r| guard.prepare(r)).collect();
    let total = Cost {
        password_fields: prepared.iter().filter_map(|p| p.as_ref().ok()).map(|p| p.cost.password_fields).sum(),
        ..Cost::default()
    };
    match total.check(guard.limits()) {
        Ok(()) => prepared,
        Err(refusal) => prepared.into_iter().map(|_| Err(refusal.clone())).collect(),
    }
}
