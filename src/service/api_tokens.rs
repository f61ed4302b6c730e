//! API tokens of one user (CONTRACT §10): made, listed and revoked with
//! the owner in every statement. Verifying them is `auth::api_tokens`.

use std::sync::Arc;

use entity::api_token;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use super::{now_ms, ServiceError};
use crate::auth::{api_tokens, Scope, Scopes};
use crate::events::{Event, EventBus, EventKind};

/// Live tokens one user may hold.
pub const MAX_LIVE_PER_USER: u64 = 50;
pub const MAX_NAME_CHARS: usize = 100;
pub const DEFAULT_DAYS: i64 = 90;
pub const MAX_DAYS: i64 = 365;
const DAY_MS: i64 = 86_400_000;

/// The owner's tokens that have not expired at `now`.
fn live(owner: Uuid, now: i64) -> sea_orm::Select<api_token::Entity> {
    api_token::Entity::find().filter(api_token::Column::UserId.eq(owner)).filter(api_token::Column::ExpiresAt.gt(now))
}

/// A new token: its secret, shown once, and what is kept of it.
pub struct Created {
    pub secret: String,
    pub token: api_token::Model,
}

#[derive(Clone)]
pub struct ApiTokens {
    db: DatabaseConnection,
    events: Arc<dyn EventBus>,
}

impl ApiTokens {
    pub fn new(db: DatabaseConnection, events: Arc<dyn EventBus>) -> Self {
        Self { db, events }
    }

    /// Makes a token for `owner`. `account` can never be granted: a token
    /// for a script cannot make tokens or change the account.
    pub async fn create(
        &self,
        owner: Uuid,
        name: &str,
        scopes: &[Scope],
        expires_in_days: Option<i64>,
    ) -> Result<Created, ServiceError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ServiceError::bad_input("name", format!("A name is 1 to {MAX_NAME_CHARS} characters")));
        }
        if scopes.is_empty() {
            return Err(ServiceError::bad_input("scopes", "Give the token at least one scope"));
        }
        if scopes.iter().enumerate().any(|(i, s)| scopes[..i].contains(s)) {
            return Err(ServiceError::bad_input("scopes", "A scope is listed twice"));
        }
        if scopes.contains(&Scope::Account) {
            return Err(ServiceError::bad_input("scopes", "An API token cannot hold `account`"));
        }
        let days = expires_in_days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(ServiceError::bad_input("expiresInDays", format!("A token lasts 1 to {MAX_DAYS} days")));
        }
        let now = now_ms();
        let (secret, hash) = api_tokens::generate().map_err(|e| ServiceError::Random(e.to_string()))?;
        let txn = self.db.begin().await?;
        let live = live(owner, now).count(&txn).await?;
        if live >= MAX_LIVE_PER_USER {
            return Err(ServiceError::bad_input("input", format!("At most {MAX_LIVE_PER_USER} live API tokens")));
        }
        let model = api_token::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(owner),
            name: Set(name.to_owned()),
            token_hash: Set(hash),
            scopes: Set(scopes.iter().copied().collect::<Scopes>().to_claim()),
            created_at: Set(now),
            expires_at: Set(now + days * DAY_MS),
            last_used_at: Set(None),
        };
        let token = api_token::Entity::insert(model).exec_with_returning(&txn).await?;
        txn.commit().await?;
        Ok(Created { secret, token })
    }

    /// The owner's live tokens, newest first.
    pub async fn list(&self, owner: Uuid) -> Result<Vec<api_token::Model>, ServiceError> {
        Ok(live(owner, now_ms())
            .order_by_desc(api_token::Column::CreatedAt)
            .order_by_desc(api_token::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Revokes one of the owner's tokens: refused from the next request on
    /// every replica (it is looked up each time), its sockets closed
    /// through the event bus. Someone else's token is `NotFound`.
    pub async fn revoke(&self, owner: Uuid, id: Uuid) -> Result<Uuid, ServiceError> {
        let txn = self.db.begin().await?;
        let result = api_token::Entity::delete_many()
            .filter(api_token::Column::Id.eq(id))
            .filter(api_token::Column::UserId.eq(owner))
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            return Err(ServiceError::ApiTokenNotFound);
        }
        let event = Event { user: owner, kind: EventKind::ApiTokenRevoked(id) };
        crate::events::commit_and_publish(&self.events, txn, event).await?;
        Ok(id)
    }
}
