//! Sign-up, login and the session operations (CONTRACT §3, §6).
//!
//! Stateless sessions: the only server-side state is each user's
//! `token_version`, which refresh tokens carry and logout bumps.

use std::sync::Arc;

use entity::{api_token, user};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, SqlErr,
    TransactionTrait,
};
use uuid::Uuid;

use super::{now_ms, validate, ServiceError};
use crate::auth::password::Passwords;
use crate::auth::{ExternalIdentity, Keys, TokenPair};
use crate::events::{Event, EventBus, EventKind};
use crate::limits::{Limited, Limits};

/// A user and a fresh token pair, as every sign-in operation returns.
#[derive(Debug, Clone)]
pub struct Session {
    pub tokens: TokenPair,
    pub user: user::Model,
}

/// Account operations over one database.
#[derive(Clone)]
pub struct Accounts {
    db: DatabaseConnection,
    passwords: Passwords,
    keys: Arc<Keys>,
    limits: Limits,
    /// `iss` of the external identity provider, if one is configured.
    external_issuer: Option<String>,
    events: Arc<dyn EventBus>,
}

impl Accounts {
    pub fn new(
        db: DatabaseConnection,
        passwords: Passwords,
        keys: Arc<Keys>,
        limits: Limits,
        external_issuer: Option<String>,
        events: Arc<dyn EventBus>,
    ) -> Self {
        Self { db, passwords, keys, limits, external_issuer, events }
    }

    /// Commits `txn` and tells every replica the user's sessions ended, so
    /// their sockets close.
    async fn end_sessions(&self, txn: DatabaseTransaction, user: Uuid) -> Result<(), ServiceError> {
        self.end(txn, user, EventKind::SessionsEnded).await
    }

    /// Commits `txn` and closes the user's sockets that `kind` ends.
    async fn end(&self, txn: DatabaseTransaction, user: Uuid, kind: EventKind) -> Result<(), ServiceError> {
        Ok(crate::events::commit_and_publish(&self.events, txn, Event { user, kind }).await?)
    }

    /// The password hasher (its counters show how much bcrypt work ran).
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Creates a password account; a taken email is `Conflict`, decided by
    /// the unique index at the insert so concurrent sign-ups make one account.
    pub async fn signup(
        &self,
        email: &str,
        password: String,
        name: Option<&str>,
        client: &str,
    ) -> Result<Session, ServiceError> {
        self.limits.before_signup(client).map_err(too_many)?;
        let email = validate::email(email)?;
        validate::password("password", &password)?;
        let name = validate::name(name)?;
        let hash = self.passwords.hash(password).await?;
        let now = now_ms();
        let model = user::Model {
            id: Uuid::now_v7(),
            email,
            password_hash: Some(hash),
            issuer: None,
            subject: None,
            name,
            token_version: 0,
            created_at: now,
            updated_at: now,
        };
        let active = user::ActiveModel::from(model.clone()).reset_all();
        match user::Entity::insert(active).exec_without_returning(&self.db).await {
            Ok(_) => {}
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(ServiceError::Conflict {
                    field: "email",
                    message: "An account with this email already exists".into(),
                })
            }
            Err(e) => return Err(e.into()),
        }
        self.session(model)
    }

    /// Checks email and password. An unknown email still costs one bcrypt
    /// verification, so both failures take the same time and read the same.
    /// Limited per email (failures) and per client address (attempts),
    /// checked before any bcrypt work.
    pub async fn login(&self, email: &str, password: String, client: &str) -> Result<Session, ServiceError> {
        let raw_email = email;
        // A malformed email or password cannot match any account: same answer.
        let email = validate::email(email).map_err(|_| ServiceError::InvalidCredentials);
        let key = match &email {
            Ok(e) => e.clone(),
            // Never matches an account; bounded so it cannot bloat the limiter.
            Err(_) => raw_email.trim().chars().take(256).collect::<String>().to_lowercase(),
        };
        self.limits.before_login(&key, client).map_err(too_many)?;
        let user = match &email {
            Ok(email) if validate::password("password", &password).is_ok() => {
                user::Entity::find()
                    .filter(user::Column::Email.eq(email.as_str()))
                    .filter(user::Column::Issuer.is_null())
                    .one(&self.db)
                    .await?
            }
            _ => None,
        };
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let password = cut_to_bcrypt_limit(password);
        // Without an account this checks the dummy hash and answers false.
        let matches = self.passwords.verify(password, hash).await?;
        match user {
            Some(user) if matches => {
                self.limits.login_succeeded(&key);
                self.session(user)
            }
            _ => Err(ServiceError::InvalidCredentials),
        }
    }

    /// Trades a valid refresh token of the user's current version for a new pair.
    /// The identity provider's own tokens are not refreshed here.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, ServiceError> {
        if self.external_issuer.is_some() && crate::auth::peek_issuer(refresh_token) == self.external_issuer {
            return Err(managed_elsewhere("refreshToken"));
        }
        let claims = self
            .keys
            .verify_refresh(refresh_token)
            .map_err(|reason| ServiceError::InvalidRefreshToken { reason: reason.to_string() })?;
        match user::Entity::find_by_id(claims.user_id).one(&self.db).await? {
            Some(user) if user.token_version == claims.token_version => self.session(user),
            Some(_) => Err(ServiceError::InvalidRefreshToken { reason: "revoked".into() }),
            None => Err(ServiceError::InvalidRefreshToken { reason: "account gone".into() }),
        }
    }

    /// The local user of an external identity (issuer, `sub`), made on
    /// first sight and kept in step with the token's `email` and `name`.
    /// Never joined to a password account, whatever the email.
    pub async fn external_user(&self, identity: &ExternalIdentity) -> Result<Uuid, ServiceError> {
        let email = validate::email(&identity.email)?;
        // A name the rules refuse is dropped rather than refusing the person.
        let name = identity.name.as_ref().map(|n| validate::name(n.as_deref()).ok().flatten());
        let find = || {
            user::Entity::find()
                .filter(user::Column::Issuer.eq(identity.issuer.as_str()))
                .filter(user::Column::Subject.eq(identity.subject.as_str()))
                .one(&self.db)
        };
        if let Some(user) = find().await? {
            let name_changed = name.as_ref().is_some_and(|n| *n != user.name);
            if user.email != email || name_changed {
                let mut update = user::Entity::update_many()
                    .col_expr(user::Column::Email, Expr::value(email))
                    .col_expr(user::Column::UpdatedAt, Expr::value(now_ms()));
                if let Some(name) = name {
                    update = update.col_expr(user::Column::Name, Expr::value(name));
                }
                update.filter(user::Column::Id.eq(user.id)).exec(&self.db).await?;
            }
            return Ok(user.id);
        }
        // First sight: concurrent first requests race on the unique
        // (issuer, subject) index; the losers find the winner's row.
        let now = now_ms();
        let model = user::Model {
            id: Uuid::now_v7(),
            email,
            password_hash: None,
            issuer: Some(identity.issuer.clone()),
            subject: Some(identity.subject.clone()),
            name: name.flatten(),
            token_version: 0,
            created_at: now,
            updated_at: now,
        };
        user::Entity::insert(user::ActiveModel::from(model).reset_all())
            .on_conflict(OnConflict::columns([user::Column::Issuer, user::Column::Subject]).do_nothing().to_owned())
            .try_insert()
            .exec_without_returning(&self.db)
            .await?;
        find().await?.map(|u| u.id).ok_or(ServiceError::Unauthenticated)
    }

    /// The caller's account, or `Unauthenticated` when it no longer exists.
    pub async fn me(&self, user_id: Uuid) -> Result<user::Model, ServiceError> {
        user::Entity::find_by_id(user_id).one(&self.db).await?.ok_or(ServiceError::Unauthenticated)
    }

    /// Ends every session of the user: refresh tokens issued so far stop working.
    pub async fn logout(&self, user_id: Uuid) -> Result<(), ServiceError> {
        let txn = self.db.begin().await?;
        let result = user::Entity::update_many()
            .col_expr(user::Column::TokenVersion, Expr::col(user::Column::TokenVersion).add(1))
            .col_expr(user::Column::UpdatedAt, Expr::value(now_ms()))
            .filter(user::Column::Id.eq(user_id))
            .exec(&txn)
            .await?;
        match result.rows_affected {
            0 => Err(ServiceError::Unauthenticated),
            _ => self.end_sessions(txn, user_id).await,
        }
    }

    /// Sets a new password after checking the current one; ends every other
    /// session and returns a fresh one.
    pub async fn change_password(&self, user_id: Uuid, current: String, new: String) -> Result<Session, ServiceError> {
        let user = self.me(user_id).await?;
        if user.issuer.is_some() {
            return Err(managed_elsewhere("currentPassword"));
        }
        validate::password("newPassword", &new)?;
        self.confirm_password(&user, current, "currentPassword").await?;
        let hash = self.passwords.hash(new).await?;
        let txn = self.db.begin().await?;
        let result = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(user::Column::TokenVersion, Expr::value(user.token_version + 1))
            .col_expr(user::Column::UpdatedAt, Expr::value(now_ms()))
            .filter(user::Column::Id.eq(user_id))
            .filter(user::Column::TokenVersion.eq(user.token_version))
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            // Deleted or logged out in between: the caller's session is over.
            return Err(ServiceError::Unauthenticated);
        }
        // A new password revokes every API token too (CONTRACT §10).
        api_token::Entity::delete_many().filter(api_token::Column::UserId.eq(user_id)).exec(&txn).await?;
        self.end(txn, user_id, EventKind::AccessEnded).await?;
        let user = self.me(user_id).await?;
        self.session(user)
    }

    /// Deletes the account and, by cascade, its tasks. An external identity
    /// has no password here: its `password` is ignored.
    pub async fn delete_account(&self, user_id: Uuid, password: String) -> Result<(), ServiceError> {
        let user = self.me(user_id).await?;
        if user.issuer.is_none() {
            self.confirm_password(&user, password, "password").await?;
        }
        let txn = self.db.begin().await?;
        // Its API tokens and tasks go with it (foreign-key cascade).
        let result = user::Entity::delete_by_id(user_id).exec(&txn).await?;
        match result.rows_affected {
            0 => Err(ServiceError::Unauthenticated),
            _ => self.end(txn, user_id, EventKind::AccessEnded).await,
        }
    }

    async fn confirm_password(
        &self,
        user: &user::Model,
        password: String,
        field: &'static str,
    ) -> Result<(), ServiceError> {
        if password.len() > validate::MAX_PASSWORD_BYTES {
            return Err(ServiceError::bad_input(field, "The password is not correct"));
        }
        let Some(hash) = user.password_hash.clone() else {
            return Err(managed_elsewhere(field));
        };
        if self.passwords.verify(password, Some(hash)).await? {
            Ok(())
        } else {
            Err(ServiceError::bad_input(field, "The password is not correct"))
        }
    }

    fn session(&self, user: user::Model) -> Result<Session, ServiceError> {
        let tokens = self.keys.issue(user.id, &user.email, user.token_version)?;
        Ok(Session { tokens, user })
    }
}

/// External identities have no password or refresh token here.
pub(crate) fn managed_elsewhere(field: &'static str) -> ServiceError {
    ServiceError::bad_input(field, "This account is managed by the identity provider")
}

fn too_many(limited: Limited) -> ServiceError {
    ServiceError::TooManyRequests { retry_after: limited.retry_after }
}

/// A password sign-up would refuse never matches (no user is looked up for it), but
/// it still costs one dummy verification; bcrypt wants at most 72 bytes and no NUL.
fn cut_to_bcrypt_limit(password: String) -> String {
    let mut password = password.replace('\0', "");
    let mut end = password.len().min(validate::MAX_PASSWORD_BYTES);
    while !password.is_char_boundary(end) {
        end -= 1;
    }
    password.truncate(end);
    password
}
