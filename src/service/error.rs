//! The one error type of the service layer.

use sea_orm::DbErr;

use crate::auth::password::HashError;

/// Everything a service call can fail with. `graphql::error` maps each
/// variant to one CONTRACT §5 code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No caller, or the caller's account no longer exists.
    #[error("Authentication required")]
    Unauthenticated,
    /// Login failed; one message whether the email or the password was wrong.
    #[error("Invalid email or password")]
    InvalidCredentials,
    /// A refresh token that is bad, expired or revoked; the reason is for
    /// the security log only.
    #[error("Invalid or expired refresh token")]
    InvalidRefreshToken { reason: String },
    /// A task that does not exist or is not the caller's: one message for both.
    #[error("Task not found")]
    NotFound,
    /// An API token that does not exist or is not the caller's.
    #[error("API token not found")]
    ApiTokenNotFound,
    /// Input that fails validation; `field` names the input field.
    #[error("{message}")]
    BadInput { field: &'static str, message: String },
    /// A unique value already taken.
    #[error("{message}")]
    Conflict { field: &'static str, message: String },
    /// Too many attempts; try again in `retry_after` seconds.
    #[error("Too many attempts; try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("token signing: {0}")]
    Token(#[from] jsonwebtoken::errors::Error),
    #[error("random source: {0}")]
    Random(String),
}

impl ServiceError {
    pub(crate) fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadInput { field, message: message.into() }
    }
}
