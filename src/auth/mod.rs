//! Who is calling: token issuing and verification (our JWTs, an external
//! issuer's, opaque API tokens), scopes, password hashing.
//!
//! Knows nothing of HTTP or GraphQL. Both doors (HTTP and WebSocket) call
//! [`Verifier::verify`] through one function and get a [`Principal`] with
//! its scopes, or an [`AuthError`] whose reason goes to the security log.

pub mod api_tokens;
pub mod jwks;
pub mod password;
pub mod scopes;
pub mod secret;
pub mod tokens;

use std::sync::Arc;

use uuid::Uuid;

pub use jwks::{ExternalIdentity, ExternalIssuer};
pub use scopes::{Scope, Scopes};
pub use tokens::{Keys, TokenPair};

/// The verified subject of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    /// The user's token version when the token was issued (`ver`), if any.
    pub token_version: Option<i32>,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// Signed in through the external identity provider (CONTRACT §8).
    pub external: bool,
    /// What the token may do (CONTRACT §10).
    pub scopes: Scopes,
    /// The API token it is, when it is one (CONTRACT §10).
    pub api_token: Option<Uuid>,
}

/// A verified token: ours (its subject is a user id), or the external
/// issuer's (its subject still has to be mapped to a local user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    Own(Principal),
    External(ExternalIdentity),
    /// An opaque `tgq_` API token, found in the database.
    ApiToken(Principal),
}

/// The caller of one request, handed to GraphQL as request data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Caller {
    /// No `Authorization` header at all.
    #[default]
    Anonymous,
    /// A verified access token.
    User(Principal),
}

/// Why a token was refused; the reason is logged, never shown in detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not allowed")]
    WrongAlgorithm,
    #[error("wrong token type")]
    WrongType,
    #[error("unknown key id")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("missing or invalid claim")]
    BadClaims,
    #[error("unknown issuer")]
    UnknownIssuer,
    #[error("unknown, revoked or expired API token")]
    UnknownToken,
    /// Checking the token needs the database, which failed: a 500.
    #[error("the token store is unavailable")]
    Unavailable,
}

impl AuthError {
    /// A fixed word for metrics (`auth_failures_total{reason}`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::WrongAlgorithm => "wrong_algorithm",
            Self::WrongType => "wrong_type",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::BadClaims => "bad_claims",
            Self::UnknownIssuer => "unknown_issuer",
            Self::UnknownToken => "unknown_api_token",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The one verification entry point for every door: routes a token by
/// its `iss` to our own keys or to the external issuer's, so no key of one
/// path ever verifies a token of the other.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<Keys>,
    external: Option<Arc<ExternalIssuer>>,
    api_tokens: Option<api_tokens::ApiTokenVerifier>,
    metrics: crate::telemetry::Metrics,
}

impl Verifier {
    pub fn new(keys: Arc<Keys>, external: Option<Arc<ExternalIssuer>>) -> Self {
        Self { keys, external, api_tokens: None, metrics: crate::telemetry::Metrics::off() }
    }

    /// Accepts API tokens, read from `db`; `hub` tells it of revocations
    /// so nothing it caches outlives one.
    pub fn with_api_tokens(
        mut self,
        db: sea_orm::DatabaseConnection,
        hub: &crate::events::Hub,
        metrics: crate::telemetry::Metrics,
    ) -> Self {
        self.metrics = metrics;
        let store = api_tokens::ApiTokenVerifier::new(db);
        let forget = store.clone();
        hub.on_access_change(Arc::new(move |event| forget.forget(event)));
        self.api_tokens = Some(store);
        self
    }

    /// Verifies a bearer token. Our own JWTs never touch the database or
    /// the network; external ones may fetch the issuer's keys; API tokens
    /// (`tgq_…`) are one indexed read.
    pub async fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        if api_tokens::is_api_token(token) {
            let result = match &self.api_tokens {
                Some(store) => store.verify(token).await,
                None => Err(AuthError::UnknownToken),
            };
            self.metrics.api_token_verification(match &result {
                Ok(_) => "valid",
                Err(AuthError::Malformed) => "malformed",
                Err(AuthError::Expired) => "expired",
                Err(AuthError::Unavailable) => "error",
                Err(_) => "unknown",
            });
            return result.map(Verified::ApiToken);
        }
        let Some(external) = &self.external else {
            // One issuer: verifying checks `iss` itself, so the payload is
            // not decoded a second time just to peek at it.
            return match self.keys.verify_access(token) {
                Err(AuthError::WrongIssuer) => Err(AuthError::UnknownIssuer),
                other => other.map(Verified::Own),
            };
        };
        let issuer = peek_issuer(token).ok_or(AuthError::Malformed)?;
        if issuer == self.keys.issuer() {
            return self.keys.verify_access(token).map(Verified::Own);
        }
        if issuer == external.issuer() {
            return external.verify(token).await.map(Verified::External);
        }
        Err(AuthError::UnknownIssuer)
    }

    /// Whether a token claims to come from the external issuer (unverified:
    /// only to explain why it is refused where it does not belong).
    pub fn is_external(&self, token: &str) -> bool {
        match (&self.external, peek_issuer(token)) {
            (Some(external), Some(iss)) => iss == external.issuer(),
            _ => false,
        }
    }
}

/// The `iss` claim of a JWS, read without verifying anything; it only
/// chooses which keys will do the verifying.
pub fn peek_issuer(token: &str) -> Option<String> {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: String,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Iss>(&bytes).ok().map(|c| c.iss)
}
