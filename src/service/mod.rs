//! Domain operations. Each function owns its queries and its owner filter;
//! nothing here knows about HTTP, and only `graphql/` turns [`ServiceError`]
//! into GraphQL errors.

pub mod accounts;
pub mod api_tokens;
pub mod error;
pub mod tasks;
pub mod validate;

pub use error::ServiceError;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::password::{HashError, Passwords};
use crate::auth::Keys;
use crate::config::Config;
use crate::events::EventBus;
use crate::limits::Limits;

/// Every service, built once at start-up and cloned cheaply into the schema.
#[derive(Clone)]
pub struct Services {
    pub accounts: accounts::Accounts,
    pub tasks: tasks::Tasks,
    pub api_tokens: api_tokens::ApiTokens,
}

impl Services {
    /// Builds the services over one pool; computes the dummy bcrypt hash.
    pub fn new(
        db: DatabaseConnection,
        keys: Arc<Keys>,
        config: &Config,
        events: Arc<dyn EventBus>,
        metrics: crate::telemetry::Metrics,
    ) -> Result<Self, HashError> {
        let passwords = Passwords::new(config.bcrypt_cost, metrics.clone())?;
        Ok(Self {
            accounts: accounts::Accounts::new(
                db.clone(),
                passwords,
                keys,
                Limits::new(config, metrics),
                config.auth_jwks_url.as_ref().and(config.auth_external_issuer.clone()),
                events.clone(),
            ),
            api_tokens: api_tokens::ApiTokens::new(db.clone(), events.clone()),
            tasks: tasks::Tasks::with_events(db, events),
        })
    }
}

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: the stored timestamp precision.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}
