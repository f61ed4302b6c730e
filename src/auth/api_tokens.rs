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

/// Verified tokens kept at most (SQLite only, see [`ApiTokenVerifier`]).
const CACHED: usize = 10_000;
/// How long a verified token is trusted without reading it again, should
/// a revocation ever not reach the cache.
const CACHE_MS: i64 = 60_000;

type Cache = Arc<Mutex<lru::LruCache<String, (Principal, i64)>>>;

/// Verifies API tokens against the database. On SQLite (one process owns
/// the database, so every revocation passes through this process) verified
/// tokens are cached and forgotten synchronously when a revocation
/// commits; on PostgreSQL, where another replica may revoke, each request
/// reads the token, so a revocation holds everywhere from the next request.
#[derive(Clone)]
pub struct ApiTokenVerifier {
    db: DatabaseConnection,
    /// When this replica last wrote each token's `lastUsedAt`.
    written: Arc<Mutex<HashMap<Uuid, i64>>>,
    cache: Option<Cache>,
}

impl ApiTokenVerifier {
    pub fn new(db: DatabaseConnection) -> Self {
        let cache = (db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite).then(|| {
            let cap = std::num::NonZeroUsize::new(CACHED).unwrap_or(std::num::NonZeroUsize::MIN);
            Arc::new(Mutex::new(lru::LruCache::new(cap)))
        });
        Self { db, written: Arc::default(), cache }
    }

    /// Forgets cached tokens that `event` revokes: one token, or all of a
    /// user's. The hub calls it for every revoking event.
    pub fn forget(&self, event: &crate::events::Event) {
        use crate::events::EventKind;
        let Some(cache) = &self.cache else { return };
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        let gone: Vec<String> = cache
            .iter()
            .filter(|(_, (p, _))| match event.kind {
                EventKind::ApiTokenRevoked(id) => p.api_token == Some(id),
                EventKind::AccessEnded => p.user_id == event.user,
                _ => false,
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            cache.pop(&key);
        }
    }

    /// The token's user and scopes; unknown, revoked (deleted) and expired
    /// tokens are refused. A database failure is `Unavailable` (500), never
    /// a 401 that would tell a script its token is bad.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let rest = token.strip_prefix(PREFIX).ok_or(AuthError::Malformed)?;
        if rest.len() != SECRET_CHARS || URL_SAFE_NO_PAD.decode(rest).map_or(true, |b| b.len() != 32) {
            return Err(AuthError::Malformed);
        }
        let hash = hash(token);
        let now = crate::service::now_ms();
        if let Some(cache) = &self.cache {
            let hit = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&hash).cloned();
            if let Some((principal, at)) = hit {
                if now - at < CACHE_MS && principal.expires_at * 1000 > now {
                    if let Some(id) = principal.api_token {
                        self.touch(id, None, now);
                    }
                    return Ok(principal);
                }
            }
        }
        let found = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash.clone()))
            .one(&self.db)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "reading an API token failed");
                AuthError::Unavailable
            })?;
        let model = found.ok_or(AuthError::UnknownToken)?;
        if model.expires_at <= now {
            return Err(AuthError::Expired);
        }
        self.touch(model.id, Some(model.last_used_at), now);
        let principal = Principal {
            user_id: model.user_id,
            token_version: None,
            expires_at: model.expires_at / 1000,
            external: false,
            scopes: Scopes::from_words(model.scopes.split_whitespace()),
            api_token: Some(model.id),
        };
        if let Some(cache) = &self.cache {
            cache.lock().unwrap_or_else(|p| p.into_inner()).put(hash, (principal.clone(), now));
        }
        Ok(principal)
    }

    /// Writes `lastUsedAt` at most once a minute per token, off the
    /// request; `stored` is the value read with the token, when it was.
    fn touch(&self, id: Uuid, stored: Option<Option<i64>>, now: i64) {
        let stale = |at: Option<i64>| at.is_none_or(|at| now - at >= LAST_USED_EVERY_MS);
        if stored.is_some_and(|at| !stale(at)) {
            return;
        }
        {
            let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
            if !stale(written.get(&id).copied()) {
                return;
            }
            if written.len() > 100_000 {
                written.clear();
            }
            written.insert(id, now);
        }
        let db = self.db.clone();
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
