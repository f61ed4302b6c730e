//! Every route and the middleware that wraps them.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::middleware::Next;

use super::caller::ResolvedCaller;
use super::{graphiql, graphql, web, ws, AppState};
use crate::config::Config;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The application's routes with body limit, CORS, security headers,
/// request ids and tracing. Fails on a malformed CORS origin.
pub fn router(state: AppState, config: &Config) -> Result<Router, String> {
    let mut routes = Router::new()
        .route("/graphql", get(get_or_upgrade).post(graphql::post))
        .route("/schema.graphql", get(schema_sdl))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if config.graphiql {
        // The IDE's files, compressed for the wire (gzip or brotli).
        let ide = Router::new()
            .route("/graphiql/assets/{file}", get(graphiql::asset))
            .layer(tower_http::compression::CompressionLayer::new());
        routes = routes.merge(ide);
    }
    if config.web_app {
        // The web app: its page at `/`, its files under `/app/`, compressed.
        let app = Router::new()
            .route("/", get(web::page))
            .route("/app/{*file}", get(web::asset))
            .layer(tower_http::compression::CompressionLayer::new());
        routes = routes.merge(app);
    }
    // Counted per matched route (its template, never the path itself).
    let routes = routes
        .route_layer(axum::middleware::from_fn_with_state(state.metrics.clone(), observe))
        .fallback(unmatched)
        .with_state(state);

    Ok(routes
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(cors(&config.cors_allowed_origins)?)
        .layer(SetResponseHeaderLayer::if_not_present(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_response(
            |response: &Response, _latency: Duration, span: &tracing::Span| {
                span.record("http.response.status_code", response.status().as_u16());
                if response.status().is_server_error() {
                    span.record("otel.status_code", "ERROR");
                }
            },
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid)))
}

/// One span per request: method, path, request id, and OpenTelemetry's
/// HTTP attributes (the route is recorded once matched, the status at the
/// response); an incoming `traceparent` becomes its parent.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    let method = method_name(request.method());
    let span = tracing::info_span!(
        "request",
        otel.name = method,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
        operation = tracing::field::Empty,
        http.request.method = method,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        url.path = %request.uri().path(),
    );
    crate::telemetry::traces::continue_trace(&span, request.headers());
    span
}

/// Counts one answered request by method, route template and status, and
/// names the request's span after its route.
async fn observe(
    State(metrics): State<crate::telemetry::Metrics>,
    matched: Option<MatchedPath>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let route = route_name(matched.as_ref().map(MatchedPath::as_str));
    let method = method_name(request.method());
    let span = tracing::Span::current();
    span.record("http.route", route);
    crate::telemetry::traces::rename(&span, format!("{method} {route}"));
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.http_request(method, route, response.status().as_u16(), started.elapsed());
    response
}

/// No route matched: 404, counted as route `unmatched`.
async fn unmatched(State(state): State<AppState>, method: Method) -> StatusCode {
    state.metrics.http_request(method_name(&method), "unmatched", 404, Duration::ZERO);
    StatusCode::NOT_FOUND
}

/// The route templates of this router, as `'static` labels.
fn route_name(matched: Option<&str>) -> &'static str {
    match matched {
        Some("/graphql") => "/graphql",
        Some("/schema.graphql") => "/schema.graphql",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/graphiql/assets/{file}") => "/graphiql/assets/{file}",
        Some("/") => "/",
        Some("/app/{*file}") => "/app/{*file}",
        Some(_) => "other",
        None => "unmatched",
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}

/// CORS for the configured origins only; none configured means
/// same-origin. `*` allows any origin, which is safe only because no
/// credentials (cookies) are ever allowed: the API takes bearer tokens.
fn cors(origins: &[String]) -> Result<CorsLayer, String> {
    let origins: Vec<&str> = origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let mut list = Vec::new();
        for origin in origins {
            let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
            match (rest, HeaderValue::from_str(origin)) {
                (Some(host), Ok(v)) if !host.is_empty() && !host.contains(['/', ' ']) => list.push(v),
                _ => {
                    return Err(format!(
                        "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin like https://app.example.com"
                    ))
                }
            }
        }
        AllowOrigin::list(list)
    };
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([CONTENT_TYPE, axum::http::header::AUTHORIZATION, axum::http::header::ACCEPT])
        .max_age(Duration::from_secs(600)))
}

/// `GET /graphql`: a WebSocket upgrade goes to the WebSocket door, the
/// rest to GraphQL over HTTP (or the IDE).
async fn get_or_upgrade(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    if ws::is_upgrade(&parts.headers) {
        return ws::upgrade(state, parts).await;
    }
    let caller = match ResolvedCaller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(rejection) => return rejection.into_response(),
    };
    let query = parts.uri.query().map(str::to_owned);
    graphql::get(State(state), caller, parts.headers, axum::extract::RawQuery(query)).await
}

async fn schema_sdl(State(state): State<AppState>) -> Response {
    match &state.sdl {
        Some(sdl) => ([(CONTENT_TYPE, "text/plain; charset=utf-8")], sdl.to_string()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database answers within 2 s, 503 otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out").into_response(),
    }
}
