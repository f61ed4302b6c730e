//! Opaque API tokens (CONTRACT §10): `tgq_` and 43 base64url characters
//! (32 random bytes). Only the SHA-256 is stored, so a database leak gives
//! no usable token; a token is found by that hash on every request, so a
//! revocation holds on every replica from the next request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use entity::api_token;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{AuthError, Principal, Scopes};

/// What every API token starts with (and what routes a bearer token here).
pub const PREFIX: &str = "tgq_";
/// Characters after the prefix: 32 bytes in unpadded base64url.
const SECRET_CHARS: usize = 43;
/// `lastUsedAt` is written at most this often per token.
pub const LAST_USED_EVERY_MS: i64 = 60_000;

/// Whether a bearer token is an API token (by its shape alone).
pub fn is_api_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// A fresh secret and the hash to store for it.
pub fn generate() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&secret);
    Ok((secret, hash))
}

/// The stored form of a secret: hex SHA-256.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Verifies API tokens against the database.
#[derive(Clone)]
pub struct ApiTokenVerifier {
    db: DatabaseConnection,
    /// When this replica last wrote each token's `lastUsedAt`.
    written: Arc<Mutex<HashMap<Uuid, i64>>>,
}

impl ApiTokenVerifier {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, written: Arc::default() }
    }

    /// The token's user and scopes; unknown, revoked (deleted) and expired
    /// tokens are refused. A database failure is `Unavailable` (500), never
    /// a 401 that would tell a script its token is bad.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let rest = token.strip_prefix(PREFIX).ok_or(AuthError::Malformed)?;
        if rest.len() != SECRET_CHARS || URL_SAFE_NO_PAD.decode(rest).map_or(true, |b| b.len() != 32) {
            return Err(AuthError::Malformed);
        }
        let found = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash(token)))
            .one(&self.db)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "reading an API token failed");
                AuthError::Unavailable
            })?;
        let model = found.ok_or(AuthError::UnknownToken)?;
        let now = crate::service::now_ms();
        if model.expires_at <= now {
            return Err(AuthError::Expired);
        }
        self.touch(&model, now);
        Ok(Principal {
            user_id: model.user_id,
            token_version: None,
            expires_at: model.expires_at / 1000,
            external: false,
            scopes: Scopes::from_words(model.scopes.split_whitespace()),
            api_token: Some(model.id),
        })
    }

    /// Writes `lastUsedAt` at most once a minute per token, off the request.
    fn touch(&self, model: &api_token::Model, now: i64) {
        let stale = |at: Option<i64>| at.is_none_or(|at| now - at >= LAST_USED_EVERY_MS);
        if !stale(model.last_used_at) {
            return;
        }
        {
            let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
            if !stale(written.get(&model.id).copied()) {
                return;
            }
            if written.len() > 100_000 {
                written.clear();
            }
            written.insert(model.id, now);
        }
        let (db, id) = (self.db.clone(), model.id);
        tokio::spawn(async move {
            use sea_orm::sea_query::{Condition, Expr};
            let cutoff = now - LAST_USED_EVERY_MS;
            let result = api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
                .filter(api_token::Column::Id.eq(id))
                .filter(
                    Condition::any()
                        .add(api_token::Column::LastUsedAt.is_null())
                        .add(api_token::Column::LastUsedAt.lte(cutoff)),
                )
                .exec(&db)
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "recording an API token's last use failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_contract_shape_and_are_stored_hashed() {
        let (secret, stored) = generate().unwrap_or_default();
        assert!(secret.starts_with(PREFIX) && secret.len() == PREFIX.len() + SECRET_CHARS, "{secret}");
        assert_eq!(stored, hash(&secret));
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains(&secret[PREFIX.len()..]));
    }
}
