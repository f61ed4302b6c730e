//! Who is calling, resolved once per request from `Authorization`.
//!
//! No header is an anonymous caller; a header that is present but
//! unusable is a 401 before anything executes, never silently anonymous.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::auth::{AuthError, Caller};
use crate::graphql::error::code;

/// Longest `Authorization` header accepted.
pub const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;

/// The resolved caller of a request, and whether it sent a header at all.
#[derive(Debug, Clone)]
pub struct ResolvedCaller {
    pub caller: Caller,
    /// `true` when no `Authorization` header was sent.
    pub anonymous: bool,
    /// The client's address, for the security log.
    pub client: String,
}

/// Why the `Authorization` header was refused.
#[derive(Debug)]
pub enum CallerRejection {
    /// More than one `Authorization` header: 400.
    Multiple,
    /// Present but unusable: 401.
    Invalid(AuthError),
}

impl FromRequestParts<AppState> for ResolvedCaller {
    type Rejection = CallerRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let client = client_addr(parts, state.trust_proxy_headers);
        let result = resolve(parts.headers.get_all(AUTHORIZATION).iter(), |t| state.verifier.verify(t));
        if let Err(rejection) = &result {
            let reason = match rejection {
                CallerRejection::Multiple => "several Authorization headers".to_owned(),
                CallerRejection::Invalid(e) => e.to_string(),
            };
            tracing::warn!(target: "security", %reason, client = %client, "access token refused");
        }
        let (caller, anonymous) = result?;
        Ok(Self { caller, anonymous, client })
    }
}

/// Resolves the caller from every `Authorization` header value; the flag
/// says whether there was no header at all.
pub fn resolve<'a>(
    mut values: impl Iterator<Item = &'a HeaderValue>,
    verify: impl FnOnce(&str) -> Result<crate::auth::Principal, AuthError>,
) -> Result<(Caller, bool), CallerRejection> {
    let Some(value) = values.next() else {
        return Ok((Caller::Anonymous, true));
    };
    if values.next().is_some() {
        return Err(CallerRejection::Multiple);
    }
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(CallerRejection::Invalid(AuthError::Malformed));
    }
    let token = bearer_token(value.as_bytes()).ok_or(CallerRejection::Invalid(AuthError::Malformed))?;
    let principal = verify(token).map_err(CallerRejection::Invalid)?;
    Ok((Caller::User(principal), false))
}

/// The token of `Bearer <token>`; the scheme is case-insensitive.
fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then_some(token)
}

/// The client's address for rate limits and logs: the socket peer, or
/// behind a trusted proxy the last `X-Forwarded-For` entry (the one that
/// proxy appended; earlier entries are the client's own word).
pub fn client_addr(parts: &Parts, trust_proxy_headers: bool) -> String {
    if trust_proxy_headers {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty());
        if let Some(ip) = forwarded.and_then(|s| s.parse::<std::net::IpAddr>().ok()) {
            return ip.to_string();
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

impl IntoResponse for CallerRejection {
    fn into_response(self) -> Response {
        let (status, challenge, message) = match self {
            Self::Multiple => {
                (StatusCode::BAD_REQUEST, r#"Bearer error="invalid_request""#, "Send exactly one Authorization header")
            }
            Self::Invalid(_) => {
                (StatusCode::UNAUTHORIZED, r#"Bearer error="invalid_token""#, "Invalid or expired access token")
            }
        };
        let error_code = match status {
            StatusCode::BAD_REQUEST => code::BAD_REQUEST,
            _ => code::UNAUTHENTICATED,
        };
        let body = serde_json::json!({
            "errors": [{ "message": message, "extensions": { "code": error_code } }]
        });
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        response
    }
}
