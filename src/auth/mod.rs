//! Who is calling: token issuing and verification, password hashing.
//!
//! Knows nothing of HTTP or GraphQL. Every door (HTTP now, WebSocket later)
//! calls [`Verifier::verify`] and gets a [`Principal`] or an [`AuthError`]
//! whose reason goes to the security log.

pub mod password;
pub mod secret;
pub mod tokens;

use uuid::Uuid;

pub use tokens::{Keys, TokenPair};

/// The verified subject of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    /// The user's token version when the token was issued (`ver`), if any.
    pub token_version: Option<i32>,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
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
}

/// The one verification entry point for every door.
#[derive(Clone)]
pub struct Verifier {
    keys: std::sync::Arc<Keys>,
}

impl Verifier {
    pub fn new(keys: std::sync::Arc<Keys>) -> Self {
        Self { keys }
    }

    /// Verifies a bearer access token without touching the database.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.keys.verify_access(token)
    }
}
