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
use crate::auth::{AuthError, Caller, ExternalIdentity, Principal, Verified};
use crate::service::ServiceError;

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
    /// Resolving a sound token failed on our side: 500.
    Internal,
}

impl FromRequestParts<AppState> for ResolvedCaller {
    type Rejection = CallerRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let client = client_addr(parts, state.trust_proxy_headers);
        let result = match bearer(parts.headers.get_all(AUTHORIZATION).iter()) {
            Ok(None) => Ok((Caller::Anonymous, true)),
            Ok(Some(token)) => resolve(state, token).await.map(|c| (c, false)),
            Err(rejection) => Err(rejection),
        };
        match result {
            Ok((caller, anonymous)) => Ok(Self { caller, anonymous, client }),
            Err(rejection) => {
                let (reason, label) = match &rejection {
                    CallerRejection::Multiple => ("several Authorization headers".to_owned(), "several_headers"),
                    CallerRejection::Invalid(e) => (e.to_string(), e.reason()),
                    CallerRejection::Internal => ("internal error".to_owned(), "unavailable"),
                };
                state.metrics.auth_failure(label);
                tracing::warn!(target: "security", %reason, client = %client, "access token refused");
                Err(rejection)
            }
        }
    }
}

async fn resolve(state: &AppState, token: &str) -> Result<Caller, CallerRejection> {
    authenticate(state, token).await.map(Caller::User)
}

/// The one authenticator of both doors (HTTP here, WebSocket in `ws.rs`):
/// any bearer token (our JWT, an external issuer's, an API token) to the
/// same [`Principal`] with its scopes. An external identity is mapped to
/// its local user here.
pub(crate) async fn authenticate(state: &AppState, token: &str) -> Result<Principal, CallerRejection> {
    match state.verifier.verify(token).await {
        Ok(Verified::Own(principal) | Verified::ApiToken(principal)) => Ok(principal),
        Ok(Verified::External(identity)) => external_principal(state, &identity).await,
        Err(AuthError::Unavailable) => Err(CallerRejection::Internal),
        Err(e) => Err(CallerRejection::Invalid(e)),
    }
}

/// The local user of a verified external identity, found or made: shared
/// by the HTTP edge and the WebSocket door.
pub(crate) async fn external_principal(
    state: &AppState,
    identity: &ExternalIdentity,
) -> Result<Principal, CallerRejection> {
    match state.accounts.external_user(identity).await {
        Ok(user_id) => Ok(Principal {
            user_id,
            token_version: None,
            expires_at: identity.expires_at,
            external: true,
            scopes: identity.scopes,
            api_token: None,
        }),
        // The token is sound but its email claim is not (CONTRACT §8: 401).
        Err(ServiceError::BadInput { .. }) => Err(CallerRejection::Invalid(AuthError::BadClaims)),
        Err(e) => {
            tracing::error!(error = %e, "mapping an external identity failed");
            Err(CallerRejection::Internal)
        }
    }
}

/// The bearer token of the `Authorization` header values: `None` when there
/// is no header; refused when there are several, or one that is unusable.
pub fn bearer<'a>(mut values: impl Iterator<Item = &'a HeaderValue>) -> Result<Option<&'a str>, CallerRejection> {
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(CallerRejection::Multiple);
    }
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(CallerRejection::Invalid(AuthError::Malformed));
    }
    bearer_token(value.as_bytes()).map(Some).ok_or(CallerRejection::Invalid(AuthError::Malformed))
}

/// The token of `Bearer <token>`; the scheme is case-insensitive.
pub(crate) fn bearer_token(value: &[u8]) -> Option<&str> {
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
        use crate::graphql::error::{error_body, Code, INTERNAL_MESSAGE};
        let (status, challenge, message, error_code) = match self {
            Self::Multiple => (
                StatusCode::BAD_REQUEST,
                Some(r#"Bearer error="invalid_request""#),
                "Send exactly one Authorization header",
                Code::BadRequest,
            ),
            Self::Invalid(_) => (
                StatusCode::UNAUTHORIZED,
                Some(r#"Bearer error="invalid_token""#),
                "Invalid or expired access token",
                Code::Unauthenticated,
            ),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, None, INTERNAL_MESSAGE, Code::InternalServerError),
        };
        let mut response = (status, axum::Json(error_body(message, error_code))).into_response();
        if let Some(challenge) = challenge {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}
